// `npm run deploy [-- <cdk options>]`: one command from a fresh checkout to a working API.
//
//   1. asks AWS who you are (aws sts get-caller-identity) and stops with a clear message when it
//      cannot: no aws CLI, no credentials, no region, or AWS unreachable;
//   2. bootstraps the account and region unless the CDK bootstrap's version parameter exists
//      (SSM /cdk-bootstrap/<qualifier>/version);
//   3. `cdk deploy`, without approval prompts when CI is set (CloudFormation changes to IAM and
//      security groups would otherwise stop a CI job with TtyNotAttached);
//   4. prints, from the stack's outputs, the commands that make a user and get a token, and the
//      curl line that calls the API.
// Options after `--` go to `cdk deploy` (e.g. `-c architecture=arm64`, `-c region=eu-west-1`).
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const CDK_DIR = path.join(__dirname, '..', '..');
const OUTPUTS = path.join(CDK_DIR, 'cdk.out', 'deploy-outputs.json');
/** The CDK bootstrap's default qualifier (cdk.json may set `@aws-cdk/core:bootstrapQualifier`). */
const DEFAULT_QUALIFIER = 'hnb659fds';
// A dead network must not hang the first step: one retry, short timeouts.
const AWS_CLI_LIMITS = ['--cli-connect-timeout', '5', '--cli-read-timeout', '10'];
const AWS_ENV = { ...process.env, AWS_MAX_ATTEMPTS: '2', AWS_RETRY_MODE: 'standard', AWS_PAGER: '' };

export class DeployError extends Error {}

/** `-c name=value` / `--context name=value` pairs among the arguments for `cdk deploy`. */
export function contextOf(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    let pair: string | undefined;
    if (args[i] === '-c' || args[i] === '--context') pair = args[++i];
    else if (args[i].startsWith('--context=')) pair = args[i].slice('--context='.length);
    if (pair === undefined) continue;
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** `cdk deploy`'s arguments: the stack, the region as context, prompts off under CI, outputs file. */
export function cdkDeployArgs(stackName: string, region: string, extra: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const args = ['cdk', 'deploy', stackName, '--outputs-file', OUTPUTS];
  if (!('region' in contextOf(extra))) args.push('-c', `region=${region}`);
  const ci = env.CI !== undefined && env.CI !== '' && env.CI.toLowerCase() !== 'false' && env.CI !== '0';
  if (ci && !extra.includes('--require-approval')) args.push('--require-approval', 'never');
  return [...args, ...extra];
}

/** A password that satisfies the new pool's policy (12+ characters, upper, lower, digit, symbol). */
export function newPassword(): string {
  return `Ra-${crypto.randomBytes(12).toString('base64url')}-7x`;
}

/** What to run next, from the stack's outputs. */
export function nextSteps(outputs: Record<string, string>, password: string = newPassword()): string {
  for (const key of ['ApiUrl', 'UserPoolId', 'UserPoolClientId', 'Region']) {
    if (!outputs[key]) throw new DeployError(`the stack has no ${key} output`);
  }
  const { ApiUrl: url, UserPoolId: pool, UserPoolClientId: client, Region: region } = outputs;
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    `randapi is deployed: ${url}`,
    ...(outputs.Dashboard ? [`dashboard: ${outputs.Dashboard}`] : []),
    '',
    'Make a user (any e-mail address; the pool signs in by e-mail), and get its access token:',
    '',
    `  USERNAME=you@example.com PASSWORD=${q(password)}`,
    `  aws cognito-idp admin-create-user --region ${region} --user-pool-id ${pool} --username "$USERNAME" --message-action SUPPRESS && aws cognito-idp admin-set-user-password --region ${region} --user-pool-id ${pool} --username "$USERNAME" --password "$PASSWORD" --permanent`,
    `  TOKEN=$(aws cognito-idp initiate-auth --region ${region} --client-id ${client} --auth-flow USER_PASSWORD_AUTH --auth-parameters "USERNAME=$USERNAME,PASSWORD=$PASSWORD" --query AuthenticationResult.AccessToken --output text)`,
    '',
    'Call the API:',
    '',
    `  curl -H "Authorization: Bearer $TOKEN" ${url}`,
    '',
  ].join('\n');
}

/** The stack's outputs from `cdk deploy --outputs-file` (an object keyed by stack name). */
export function readOutputs(file: string, stackName: string): Record<string, string> {
  const all = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, string>>;
  const outputs = all[stackName];
  if (outputs === undefined) throw new DeployError(`${file} has no outputs for stack ${stackName}`);
  return outputs;
}

function aws(args: string[], region?: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync('aws', [...args, ...(region ? ['--region', region] : []), ...AWS_CLI_LIMITS, '--output', 'json'], {
    encoding: 'utf8',
    env: AWS_ENV,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new DeployError('the aws CLI is not installed: it checks your credentials here, and you use it to make a user (https://aws.amazon.com/cli/)');
  }
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '').trim() };
}

function firstLine(s: string): string {
  return s.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '(no message)';
}

function run(command: string, args: string[]): void {
  console.log(`\n$ ${command} ${args.join(' ')}`);
  const r = spawnSync(command, args, { cwd: CDK_DIR, stdio: 'inherit' });
  if (r.status !== 0) throw new DeployError(`${command} ${args.slice(0, 2).join(' ')} failed (exit ${r.status ?? r.signal})`);
}

function main(argv: string[]): void {
  const extra = argv.slice(2);
  const context = contextOf(extra);
  const stackName = context.stackName ?? 'Randapi';
  const region =
    context.region ??
    process.env.AWS_REGION ??
    process.env.AWS_DEFAULT_REGION ??
    (spawnSync('aws', ['configure', 'get', 'region'], { encoding: 'utf8', env: AWS_ENV }).stdout ?? '').trim();
  if (!region) {
    throw new DeployError('no region: pass -- -c region=<region>, or set AWS_REGION, or `aws configure set region <region>`');
  }

  console.log(`==> who am I in ${region} (aws sts get-caller-identity)`);
  const who = aws(['sts', 'get-caller-identity'], region);
  if (!who.ok) {
    throw new DeployError(
      `AWS did not say who you are, so nothing was deployed: ${firstLine(who.err)}\n` +
        '    Check that this machine reaches AWS, and set credentials (aws configure, AWS_PROFILE, or\n' +
        '    AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), then run it again.',
    );
  }
  const account: string = JSON.parse(who.out).Account;
  console.log(`    account ${account}`);

  const qualifier = context['@aws-cdk/core:bootstrapQualifier'] ?? DEFAULT_QUALIFIER;
  console.log(`==> CDK bootstrap of aws://${account}/${region} (SSM /cdk-bootstrap/${qualifier}/version)`);
  const version = aws(['ssm', 'get-parameter', '--name', `/cdk-bootstrap/${qualifier}/version`], region);
  if (version.ok) {
    console.log(`    bootstrapped, version ${JSON.parse(version.out).Parameter.Value}`);
  } else if (/ParameterNotFound/.test(version.err)) {
    console.log('    not bootstrapped: bootstrapping now (once per account and region)');
    run('npx', ['--no-install', 'cdk', 'bootstrap', `aws://${account}/${region}`]);
  } else {
    throw new DeployError(`cannot read the CDK bootstrap version: ${firstLine(version.err)}`);
  }

  console.log('==> cdk deploy');
  run('npx', ['--no-install', ...cdkDeployArgs(stackName, region, extra, process.env)]);
  console.log('\n' + nextSteps(readOutputs(OUTPUTS, stackName)));
}

if (require.main === module) {
  try {
    main(process.argv);
  } catch (e) {
    if (!(e instanceof DeployError)) throw e;
    console.error(`\nnpm run deploy: ${e.message}`);
    process.exit(1);
  }
}
