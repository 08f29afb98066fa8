// Child processes for the local stack (moto, randapi): started, awaited until they report their
// address on a log line, and stopped by PID, also when the parent exits without stopping them.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import readline from 'node:readline';

// SIGTERM, not SIGKILL: a child with children of its own (node dev.mjs) stops them on SIGTERM.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

/**
 * Starts `program` and waits until `ready` returns a value for one of its output lines
 * (`stream`: 'stdout' or 'stderr'; the other one is drained). Every line goes to `onLine`.
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, value: any, stop: () => Promise<void> }>}
 */
export async function startProcess(program, args, { env, stream, ready, onLine = () => {}, name, timeoutMs = 60_000 }) {
  const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = once(child, 'exit');
  exited.then(() => running.delete(child));
  const other = stream === 'stdout' ? child.stderr : child.stdout;
  other.resume(); // read, never printed (randapi --dev would print a token there)
  const lines = readline.createInterface({ input: child[stream] });

  const stop = async () => {
    // No pid: it never started (e.g. not found), and no 'exit' will come.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  let timer;
  const value = await new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} gave no address in ${timeoutMs / 1000} s`)), timeoutMs);
    child.once('error', (error) => reject(new Error(`cannot start ${name} (${program}): ${error.message}`)));
    exited.then(([code, signal]) => reject(new Error(`${name} exited (${code ?? signal}) before it was ready`)));
    lines.on('line', (line) => {
      onLine(line);
      const found = ready(line);
      if (found !== undefined) resolve(found);
    });
  })
    .finally(() => clearTimeout(timer))
    .catch(async (error) => {
      await stop();
      throw error;
    });
  return { child, value, stop };
}
