// The example's static site: app/index.html, app/main.js bundled by esbuild, and settings.json.

import http from 'node:http';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import * as esbuild from 'esbuild';

const app = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'app');

/** esbuild's options for the example's bundle: one minified ES module for current browsers. */
export const BUNDLE = {
  entryPoints: [path.join(app, 'main.js')],
  bundle: true,
  format: 'esm',
  minify: true,
  target: ['es2022'],
  legalComments: 'none',
  logLevel: 'warning',
};

/** Bundles app/main.js in memory. @returns {Promise<Buffer>} */
export async function bundle() {
  const result = await esbuild.build({ ...BUNDLE, write: false, outfile: 'main.js' });
  return Buffer.from(result.outputFiles[0].contents);
}

/**
 * Serves the page on 127.0.0.1:`port` (0: a free one), under any directory: `<dir>/` (index.html),
 * `<dir>/main.js` (the bundle) and `<dir>/settings.json` (what `settings(dir)` returns, read on
 * each request; none: 404). Nothing else. The browser test serves one directory per flow, each
 * with its own settings, because a Playwright route would answer CORS preflights itself.
 * @returns {Promise<{ origin: string, close: () => Promise<void> }>}
 */
export async function startSite({ port = 0, settings, script }) {
  const page = await readFile(path.join(app, 'index.html'));
  const server = http.createServer((request, response) => {
    const pathname = new URL(request.url, 'http://x').pathname;
    const dir = pathname.slice(0, pathname.lastIndexOf('/') + 1);
    const file = pathname.slice(dir.length);
    let answer;
    if (file === '') answer = { type: 'text/html; charset=utf-8', body: page };
    else if (file === 'main.js') answer = { type: 'text/javascript; charset=utf-8', body: script };
    else if (file === 'settings.json') {
      const value = settings(dir);
      if (value !== undefined) answer = { type: 'application/json', body: JSON.stringify(value, null, 2) };
    }
    if (request.method !== 'GET' || answer === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': answer.type, 'cache-control': 'no-store' });
    response.end(answer.body);
  });
  server.listen(port, '127.0.0.1');
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
