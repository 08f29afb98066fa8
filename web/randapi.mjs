// Starts `randapi --dev` on a free port of 127.0.0.1 and stops it: for the browser test.
// The port is the one the server reports in its `listening` log line (it binds port 0), so no
// port is guessed and none can be taken by another process in between.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import readline from 'node:readline';

const here = path.dirname(fileURLToPath(import.meta.url));

// Every server started here, so that none outlives the test process even if a test crashes.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The binary under test: $RANDAPI_BIN, else the debug build of this repository. */
export const RANDAPI_BIN =
  process.env.RANDAPI_BIN ?? path.join(here, '..', 'target', 'debug', 'randapi');

/**
 * Starts `randapi --dev`. `cors` is the value of CORS_ALLOWED_ORIGINS, or undefined to leave it
 * unset (the server's default, `*`).
 * @returns {Promise<{base: string, stop: () => Promise<void>, logs: string[]}>}
 */
export async function startRandapi({ cors } = {}) {
  const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', RUST_LOG: 'info' };
  delete env.CORS_ALLOWED_ORIGINS;
  if (cors !== undefined) env.CORS_ALLOWED_ORIGINS = cors;
  const child = spawn(RANDAPI_BIN, ['--dev'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const logs = [];
  child.stderr.on('data', () => {}); // the --dev banner (with a token): read, never printed
  const lines = readline.createInterface({ input: child.stdout });
  const exited = once(child, 'exit');

  const addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('randapi did not report its address in 20 s')), 20_000);
    child.once('error', reject);
    exited.then(([code]) => reject(new Error(`randapi exited with ${code} before listening`)));
    lines.on('line', (line) => {
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      logs.push(event);
      if (event.message === 'listening' && typeof event.addr === 'string') {
        clearTimeout(timer);
        resolve(event.addr);
      }
    });
  }).catch(async (error) => {
    child.kill('SIGTERM');
    throw error;
  });

  const base = `http://${addr}`;
  let stopped = false;
  return {
    base,
    logs,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** A fresh `--dev` access token from `base`/dev/token (node's fetch: no CORS involved). */
export async function devToken(base) {
  const response = await fetch(`${base}/dev/token`);
  if (response.status !== 200) throw new Error(`GET /dev/token answered ${response.status}`);
  const body = await response.json();
  if (typeof body.access_token !== 'string') throw new Error('GET /dev/token: no access_token');
  return body.access_token;
}
