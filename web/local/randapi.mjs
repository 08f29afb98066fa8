// Starts the randapi binary on a free port of 127.0.0.1 and stops it. The port is the one the
// server reports in its `listening` log line (it binds port 0), so no port is guessed and none
// can be taken by another process in between.

import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { startProcess } from './process.mjs';

const repository = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The binary: $RANDAPI_BIN, else the debug build of this repository. */
export const RANDAPI_BIN =
  process.env.RANDAPI_BIN ??
  path.join(process.env.CARGO_TARGET_DIR ?? path.join(repository, 'target'), 'debug', 'randapi');

// Every variable randapi reads that could come from a developer's shell: removed, so that only
// what the caller passes configures the server (scripts/lib.sh start_randapi does the same).
const INHERITED = /^(COGNITO_|CORS_|JWKS_|PORT$|HOST$|LOG_FORMAT$|RUST_LOG$|SHUTDOWN_|METRICS_|TOKEN_CACHE_)/;

/**
 * Starts randapi with `env` added to a clean environment and `args` (e.g. ['--dev']). It logs
 * JSON; each log line is kept in `logs`. SHUTDOWN_DELAY is 0 s: nothing routes to it, so
 * `stop()` (SIGTERM) need not wait for a load balancer.
 * @returns {Promise<{ base: string, logs: object[], stop: () => Promise<void> }>}
 */
export async function startRandapi({ env = {}, args = [] } = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !INHERITED.test(name)));
  const logs = [];
  const { value: addr, stop } = await startProcess(RANDAPI_BIN, args, {
    name: 'randapi',
    env: { ...clean, PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', RUST_LOG: 'info', SHUTDOWN_DELAY: '0s', ...env },
    stream: 'stdout',
    timeoutMs: 20_000,
    onLine(line) {
      const event = parse(line);
      if (event) logs.push(event);
    },
    ready(line) {
      const event = parse(line);
      return event?.message === 'listening' && typeof event.addr === 'string' ? event.addr : undefined;
    },
  });
  return { base: `http://${addr}`, logs, stop };
}

function parse(line) {
  try {
    return JSON.parse(line);
  } catch {
    return undefined; // not a log line
  }
}
