// Checked settings of the construct: each function takes what a user typed (a prop or a `-c`
// context value) and returns the typed value, or throws an Error whose message names the setting
// and the rule, so a bad value stops `cdk synth` with a sentence instead of a CloudFormation
// rollback twenty minutes later.
import * as logs from 'aws-cdk-lib/aws-logs';

/** The CPU architectures Fargate runs; randapi's Dockerfile builds both. */
export type Architecture = 'x86_64' | 'arm64';
export const ARCHITECTURES: readonly Architecture[] = ['x86_64', 'arm64'];

/** Where the image comes from when no `image` or `imageUri` is given. */
export type ImageBuild = 'codebuild' | 'local';
export const IMAGE_BUILDS: readonly ImageBuild[] = ['codebuild', 'local'];

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(`${name}: one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export const architecture = (value: string): Architecture => oneOf('architecture', value, ARCHITECTURES);
export const imageBuild = (value: string): ImageBuild => oneOf('imageBuild', value, IMAGE_BUILDS);

/** A whole number in [min, max], from a number or its decimal text. */
export function wholeNumber(name: string, value: number | string, min: number, max: number): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!(Number.isInteger(n) && n >= min && n <= max)) {
    throw new Error(`${name}: a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`);
  }
  return n;
}

export function booleanText(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new Error(`${name}: true or false; got ${JSON.stringify(value)}`);
}

/**
 * Fargate's task sizes (CPU units → allowed memory in MiB), from the ECS developer guide's
 * "Task CPU and memory" table for Linux tasks. ECS rejects any other pair at deploy time.
 */
export const FARGATE_TASK_SIZES: ReadonlyMap<number, readonly number[]> = new Map([
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
]);

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** A CPU / memory pair Fargate accepts. */
export function fargateTaskSize(cpu: number, memoryMiB: number): { cpu: number; memoryMiB: number } {
  const memories = FARGATE_TASK_SIZES.get(cpu);
  if (memories === undefined) {
    throw new Error(`cpu: one of Fargate's ${[...FARGATE_TASK_SIZES.keys()].join(', ')} CPU units; got ${cpu}`);
  }
  if (!memories.includes(memoryMiB)) {
    const shown = memories.length > 6 ? `${memories[0]} to ${memories[memories.length - 1]} in steps of ${memories[1] - memories[0]}` : memories.join(', ');
    throw new Error(`memoryMiB: with cpu ${cpu}, Fargate allows ${shown} MiB; got ${memoryMiB}`);
  }
  return { cpu, memoryMiB };
}

/** The retention periods CloudWatch Logs accepts, in days (aws-cdk-lib's RetentionDays). */
export const LOG_RETENTION_DAYS: readonly number[] = Object.values(logs.RetentionDays)
  .filter((v): v is number => typeof v === 'number' && v !== logs.RetentionDays.INFINITE)
  .sort((a, b) => a - b);

export function logRetentionDays(value: number | string): logs.RetentionDays {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!LOG_RETENTION_DAYS.includes(n)) {
    throw new Error(`logRetentionDays: one of CloudWatch Logs' periods (${LOG_RETENTION_DAYS.join(', ')}); got ${JSON.stringify(value)}`);
  }
  return n as logs.RetentionDays;
}

/** RFC 9110 `token`: the characters a header field name may hold. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The request headers always allowed across origins (randapi and the gateway alike). */
export const BASE_CORS_HEADERS: readonly string[] = ['authorization', 'content-type'];

/**
 * Extra CORS request headers, from a comma-separated list: lower-cased, without duplicates and
 * without the two always allowed. A name that is not an RFC 9110 token is refused (the gateway
 * would take it, and randapi's CORS_ALLOWED_HEADERS would refuse to start).
 */
export function corsAllowHeaders(value: readonly string[] | string): string[] {
  const items = typeof value === 'string' ? value.split(',') : [...value];
  const out: string[] = [];
  for (const raw of items) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    if (!HEADER_NAME.test(name)) {
      throw new Error(`corsAllowHeaders: ${JSON.stringify(raw.trim())} is not a header name (letters, digits and !#$%&'*+-.^_\`|~ only)`);
    }
    if (!BASE_CORS_HEADERS.includes(name) && !out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * OAuth scopes for the routes' authorizer. RFC 6749 §3.3: printable ASCII except space, `"` and
 * `\`. Given as a space- or comma-separated list.
 */
export function requiredScopes(value: readonly string[] | string): string[] {
  const items = typeof value === 'string' ? value.split(/[\s,]+/) : [...value];
  const out: string[] = [];
  for (const scope of items.map((s) => s.trim()).filter((s) => s !== '')) {
    if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) {
      throw new Error(`requiredScopes: ${JSON.stringify(scope)} is not an OAuth scope (RFC 6749 §3.3)`);
    }
    if (!out.includes(scope)) out.push(scope);
  }
  return out;
}
