// A page on one origin calls randapi's `GET /` on another with fetch and a bearer token, in
// headless Debian Chromium driven by playwright-core, and shows the number; the test reads it from
// the DOM. The page is served by a tiny node server on 127.0.0.1:<port A>, randapi --dev listens on
// 127.0.0.1:<port B>: a different port is a different origin, so every call is a CORS call.
//
// Run: node --test browser.test.mjs   (scripts/web.sh builds randapi and installs chromium first)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { chromium } from 'playwright-core';

import { devToken, startRandapi } from './randapi.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// The page: one button; its click calls the API and writes what came back into the DOM.
// `api` and `token` arrive in a JSON island so nothing is interpolated into script code.
function page(config) {
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>randapi from another origin</title></head>
<body>
<button id="go" type="button">Get a random number</button>
<p>Number: <output id="number"></output></p>
<p>Status: <output id="status"></output></p>
<p>Challenge: <output id="challenge"></output></p>
<p>Error: <output id="error"></output></p>
<script type="application/json" id="config">${json}</script>
<script type="module">
const config = JSON.parse(document.getElementById('config').textContent);
const show = (id, text) => { document.getElementById(id).textContent = text; };
document.getElementById('go').addEventListener('click', async () => {
  document.body.dataset.state = 'calling';
  try {
    const headers = config.token ? { Authorization: \`Bearer \${config.token}\` } : {};
    const response = await fetch(new URL('/', config.api), { headers });
    show('status', String(response.status));
    show('challenge', response.headers.get('WWW-Authenticate') ?? '');
    const body = await response.json();
    if (response.ok) show('number', String(body.randomNumber));
    else show('error', body.error);
  } catch (error) {
    show('error', \`\${error.name}: \${error.message}\`);
  }
  document.body.dataset.state = 'done';
});
document.body.dataset.state = 'ready';
</script>
</body>
</html>
`;
}

// The page server: 127.0.0.1, port 0. The page for a test is registered under a path.
async function startPageServer() {
  const pages = new Map();
  const server = http.createServer((request, response) => {
    const html = pages.get(new URL(request.url, 'http://x').pathname);
    if (html === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(html);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    serve(pathname, html) {
      pages.set(pathname, html);
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

let browser;
let pages;

before(async () => {
  pages = await startPageServer();
  // playwright-core gives Chromium a new empty profile (a temporary --user-data-dir) and removes it.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  await pages?.close();
});

// Opens the page for `api` and `token` in a fresh context, clicks, and returns what the DOM shows,
// the console errors and the failed requests the browser reported.
async function callFromPage(name, api, token) {
  assert.notEqual(new URL(api).origin, pages.origin, 'the page and the API are cross-origin');
  const pathname = `/${name}.html`;
  pages.serve(pathname, page({ api, token }));
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const consoleErrors = [];
    const failed = [];
    tab.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    tab.on('requestfailed', (request) => failed.push(`${request.url()} ${request.failure()?.errorText}`));
    await tab.goto(`${pages.origin}${pathname}`);
    await tab.waitForSelector('body[data-state="ready"]');
    await tab.click('#go');
    await tab.waitForSelector('body[data-state="done"]', { timeout: 20_000 });
    const read = (id) => tab.locator(`#${id}`).textContent();
    return {
      number: await read('number'),
      status: await read('status'),
      challenge: await read('challenge'),
      error: await read('error'),
      consoleErrors,
      failed,
    };
  } finally {
    await context.close();
  }
}

function assertNumberShown(result) {
  assert.equal(result.error, '', `no error in the page (console: ${result.consoleErrors.join(' | ')})`);
  assert.equal(result.status, '200');
  assert.match(result.number, /^\d{1,3}$/, 'the page shows a number');
  const n = Number(result.number);
  assert.ok(Number.isInteger(n) && n >= 0 && n <= 100, `number ${n} in 0..=100`);
}

describe('a page on another origin calls GET / with a bearer token', () => {
  test('CORS_ALLOWED_ORIGINS unset (*): the page shows the number', async () => {
    const api = await startRandapi({ cors: undefined });
    try {
      const token = await devToken(api.base);
      const result = await callFromPage('any', api.base, token);
      assertNumberShown(result);
      console.log(`CORS * : page ${pages.origin} -> ${api.base}/ showed ${result.number}`);
    } finally {
      await api.stop();
    }
  });

  test("CORS_ALLOWED_ORIGINS set to the page's origin: the page shows the number", async () => {
    const api = await startRandapi({ cors: pages.origin });
    try {
      const token = await devToken(api.base);
      const result = await callFromPage('listed', api.base, token);
      assertNumberShown(result);
      console.log(`CORS ${pages.origin} : page showed ${result.number}`);
    } finally {
      await api.stop();
    }
  });

  test('CORS_ALLOWED_ORIGINS set to another origin: the fetch fails with a CORS error, no number', async () => {
    const other = 'https://app.example.com';
    const api = await startRandapi({ cors: other });
    try {
      const token = await devToken(api.base);
      // The server itself answers 200 to that token: only the browser's CORS check stops the page.
      const direct = await fetch(`${api.base}/`, {
        headers: { Authorization: `Bearer ${token}`, Origin: pages.origin },
      });
      assert.equal(direct.status, 200, 'the token is valid outside the browser');
      assert.equal(direct.headers.get('access-control-allow-origin'), null, 'no ACAO for the page origin');
      await direct.body?.cancel();

      const result = await callFromPage('other', api.base, token);
      assert.equal(result.number, '', 'no number is shown');
      assert.equal(result.status, '', 'the page never sees a response');
      assert.match(result.error, /^TypeError: /, 'fetch rejects with a TypeError');
      assert.ok(
        result.consoleErrors.some((text) => /CORS policy/i.test(text)),
        `a CORS error is reported in the page's console: ${JSON.stringify(result.consoleErrors)}`,
      );
      assert.ok(result.failed.length > 0, 'the browser reports the request as failed');
      console.log(`CORS ${other} : page showed no number; fetch said "${result.error}"`);
      console.log(`  console: ${result.consoleErrors.find((text) => /CORS policy/i.test(text))}`);
    } finally {
      await api.stop();
    }
  });

  test('without a token the page reads the 401 and its exposed WWW-Authenticate challenge', async () => {
    const api = await startRandapi({ cors: pages.origin });
    try {
      const result = await callFromPage('no-token', api.base, '');
      assert.equal(result.number, '');
      assert.equal(result.status, '401');
      assert.equal(result.error, 'unauthorized');
      assert.equal(result.challenge, 'Bearer realm="randapi"');
    } finally {
      await api.stop();
    }
  });
});
