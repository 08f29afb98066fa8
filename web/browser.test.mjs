// The example app (app/: Amplify JS v6, bundled by esbuild) in headless Debian Chromium, driven by
// playwright-core, against moto's Cognito emulator and randapi. The page, randapi and moto each
// listen on their own port of 127.0.0.1: three origins, so every call the page makes is a CORS
// call. Each flow is what a user does: fill in the form, click, read the page.
//
// Run: node --test browser.test.mjs   (scripts/web.sh builds randapi, installs chromium and moto)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { DEMO_USER, localSettings } from './dev.mjs';
import { createPool, createUser, issuerAndJwks } from './local/moto.mjs';
import { startProcess } from './local/process.mjs';
import { RANDAPI_BIN, startRandapi } from './local/randapi.mjs';
import { startSite } from './local/site.mjs';

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
const ID_TOKEN_REASON = 'token is an ID token; send the access token';
const REFRESH_CALL = 'AWSCognitoIdentityProviderService.GetTokensFromRefreshToken';

// The moto that `npm run dev` started (the test makes its own pools there), the test's page server.
let moto;
let site;
let browser;
// `npm run dev` (node dev.mjs), run as a user runs it: what it printed.
let dev;
// A pool whose users sign in with e-mail (as all three deploy paths make), and one whose users
// sign in with a plain user name (here one that looks like an address: the page's field is an
// e-mail field; to the pool it is just a name).
let emailPool;
let namePool;
const NAME_USER = { username: 'plain.name@example.com', email: 'other@example.com', password: 'Passw0rd!' };
// randapi for the e-mail pool: `listed` allows the page's origin and traceparent; `plain` has no
// CORS settings (any origin, authorization and content-type only); `elsewhere` allows only
// another origin.
const api = {};
const stops = [];
const settingsByDir = new Map();
let apps = 0;

// Starts `node dev.mjs --port 0` and reads what it prints: the page's URL, the user to sign in
// with, and where its randapi and moto listen.
async function startDev() {
  const patterns = {
    url: /open (http:\S+)/,
    login: /sign in as (\S+), password (\S+)/,
    api: /^ {2}randapi +(http:\S+)/,
    moto: /^ {2}moto +(http:\S+)/,
  };
  const printed = {};
  const script = fileURLToPath(new URL('dev.mjs', import.meta.url));
  const { value, stop } = await startProcess(process.execPath, [script, '--port', '0'], {
    name: 'node dev.mjs',
    env: { ...process.env, RANDAPI_BIN },
    stream: 'stdout',
    ready(line) {
      for (const [key, pattern] of Object.entries(patterns)) {
        const found = pattern.exec(line);
        if (found) printed[key] = found.slice(1);
      }
      if (Object.keys(printed).length < 4) return undefined;
      const [email, password] = printed.login;
      return { url: printed.url[0], email, password, api: printed.api[0], moto: printed.moto[0] };
    },
  });
  return { ...value, stop };
}

before(async () => {
  // playwright-core gives Chromium a new empty profile (a temporary --user-data-dir) and removes it.
  const launched = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
  launched.catch(() => {}); // awaited below; a failure meanwhile is reported there
  dev = await startDev();
  stops.push(dev.stop);
  // The rest runs against the same moto, with pools of its own, and serves the same bundle.
  moto = { endpoint: dev.moto };
  const script = Buffer.from(await (await fetch(new URL('main.js', dev.url))).arrayBuffer());
  const withUser = async (options, user) => {
    const pool = await createPool(moto.endpoint, options);
    await createUser(moto.endpoint, pool.poolId, user);
    return pool;
  };
  [emailPool, namePool] = await Promise.all([
    withUser({ name: 'email-sign-in', emailSignIn: true }, { username: DEMO_USER.email, ...DEMO_USER }),
    withUser({ name: 'name-sign-in', emailSignIn: false }, NAME_USER),
  ]);

  site = await startSite({ script, settings: (dir) => settingsByDir.get(dir) });
  stops.push(site.close);
  const pool = {
    ...issuerAndJwks(moto.endpoint, emailPool.poolId),
    COGNITO_CLIENT_IDS: emailPool.clientId,
  };
  [api.listed, api.plain, api.elsewhere] = await Promise.all([
    startRandapi({ env: { ...pool, CORS_ALLOWED_ORIGINS: site.origin, CORS_ALLOWED_HEADERS: 'traceparent' } }),
    startRandapi({ env: pool }),
    startRandapi({ env: { ...pool, CORS_ALLOWED_ORIGINS: 'https://app.example.com' } }),
  ]);
  stops.push(...Object.values(api).map((server) => server.stop));
  browser = await launched;
  stops.push(() => browser.close());
  console.log(`example bundle (app/main.js, esbuild, minified, as npm run dev serves it): ${script.length} bytes`);
});

after(async () => {
  for (const stop of stops.reverse()) await stop();
});

/**
 * Opens the example in a fresh browser context: `url`, or a directory of the test's site whose
 * settings.json holds the local settings for `pool`, the randapi `server` and the Cognito endpoint
 * (not a Playwright route: with any route set, Playwright answers every CORS preflight itself).
 * Returns the page's controls and what it saw: the Cognito calls (target, and flow or challenge),
 * the bearer token of each API call, the console errors.
 */
async function openApp({ pool = emailPool, server = api.listed, userPoolEndpoint = moto.endpoint, url } = {}) {
  const dir = `/app-${(apps += 1)}/`;
  if (!url) settingsByDir.set(dir, localSettings({ moto: userPoolEndpoint, ...pool, api: server.base }));
  const context = await browser.newContext();
  const tab = await context.newPage();
  const seen = { cognito: [], bearer: [], consoleErrors: [] };
  tab.on('console', (message) => {
    if (message.type() === 'error') seen.consoleErrors.push(message.text());
  });
  // Each request is described once its headers are read; `settle` keeps them in request order.
  const pending = [];
  tab.on('request', (request) => pending.push(describeRequest(request, server, userPoolEndpoint)));
  const settle = async () => {
    for (const entry of await Promise.all(pending.splice(0))) if (entry) seen[entry.kind].push(entry.value);
  };
  await tab.goto(url ?? `${site.origin}${dir}`);
  await tab.waitForSelector('body[data-state="idle"]');

  const read = async () => {
    await settle();
    const out = {};
    for (const id of ['number', 'user', 'status', 'reason', 'challenge', 'error']) {
      out[id] = await tab.locator(`#${id}`).textContent();
    }
    return out;
  };
  const click = async (id) => {
    await tab.click(`#${id}`);
    await tab.waitForSelector('body[data-state="idle"]', { timeout: 20_000 });
    return read();
  };
  return {
    seen,
    read,
    click,
    // USER_PASSWORD_AUTH unless the flow is under test: Amplify's SRP takes Chromium 1.3-2 s of
    // big-integer arithmetic here, and the token it ends with is the same kind.
    async signIn({ login = DEMO_USER.email, password = DEMO_USER.password, flow = 'USER_PASSWORD_AUTH' } = {}) {
      await tab.fill('#email', login);
      await tab.fill('#password', password);
      await tab.selectOption('#flow', flow);
      return click('sign-in-button');
    },
    setTraceparent: (on) => tab.setChecked('#traceparent', on),
    close: () => context.close(),
  };
}

// A Cognito call (its target, and its flow or challenge) or the bearer token of an API call.
async function describeRequest(request, server, userPoolEndpoint) {
  const origin = new URL(request.url()).origin;
  if (origin === userPoolEndpoint && request.method() === 'POST') {
    const body = request.postDataJSON();
    const target = (await request.allHeaders())['x-amz-target']?.split('.')[1];
    return { kind: 'cognito', value: `${target}(${body.AuthFlow ?? body.ChallengeName ?? ''})` };
  }
  if (origin === server.base) {
    return { kind: 'bearer', value: (await request.allHeaders()).authorization?.replace(/^Bearer /, '') };
  }
  return undefined;
}

/**
 * A proxy in front of moto that passes every request and answer through unchanged, until
 * `translate` is set: then a GetTokensFromRefreshToken call (which moto lacks) is sent to moto as
 * the call it has for the same refresh token, InitiateAuth REFRESH_TOKEN_AUTH, whose answer
 * carries the same AuthenticationResult.
 */
async function startRefreshTranslator() {
  const state = { translate: false, translated: 0 };
  const server = http.createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    let body = Buffer.concat(chunks);
    const { host, ...headers } = request.headers;
    if (state.translate && headers['x-amz-target'] === REFRESH_CALL) {
      const { ClientId, RefreshToken } = JSON.parse(body);
      headers['x-amz-target'] = 'AWSCognitoIdentityProviderService.InitiateAuth';
      body = Buffer.from(
        JSON.stringify({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId, AuthParameters: { REFRESH_TOKEN: RefreshToken } }),
      );
      state.translated += 1;
    }
    headers['content-length'] = String(body.length);
    const upstream = http.request(`${moto.endpoint}${request.url}`, { method: request.method, headers }, (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    upstream.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    state,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function assertNumber(page, what) {
  assert.equal(page.error, '', `${what}: no error`);
  assert.equal(page.status, '200', what);
  assert.match(page.number, /^\d{1,3}$/, `${what}: the page shows a number`);
  assert.ok(Number(page.number) <= 100, `${what}: ${page.number} in 0..=100`);
}

function assertSignedIn(page, login, flow) {
  assert.equal(page.error, '', 'sign-in: no error');
  assert.equal(page.user, `${login} (${flow})`);
}

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

// The requests randapi logged since `from` (an index into its logs), as "METHOD path status",
// once there are `count` of them (its log lines are read as they come), or after 5 s.
async function requests(server, from, count) {
  const lines = () =>
    server.logs
      .slice(from)
      .filter((e) => e.method)
      .map((e) => `${e.method} ${e.path} ${e.status}`);
  for (let waited = 0; lines().length < count && waited < 5_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return lines();
}

describe('the Amplify JS example against moto and randapi, in Chromium', () => {
  test("npm run dev: the printed page, e-mail and password sign in by SRP (Amplify's default); GET / shows a number", async () => {
    const app = await openApp({ url: dev.url, server: { base: dev.api }, userPoolEndpoint: dev.moto });
    try {
      const signedIn = await app.signIn({ login: dev.email, password: dev.password, flow: 'USER_SRP_AUTH' });
      assertSignedIn(signedIn, dev.email, 'USER_SRP_AUTH');
      assert.deepEqual(app.seen.cognito, ['InitiateAuth(USER_SRP_AUTH)', 'RespondToAuthChallenge(PASSWORD_VERIFIER)']);
      const page = await app.click('call');
      assertNumber(page, 'call');
      assert.equal(claims(app.seen.bearer[0]).token_use, 'access', 'the page sends the access token');
      console.log(`npm run dev: ${dev.url} (randapi ${dev.api}, moto ${dev.moto})`);
      console.log(
        `  SRP: ${app.seen.cognito.join(' -> ')}; signed in as ${page.user}; GET / -> 200, the page shows ${page.number}`,
      );
    } finally {
      await app.close();
    }
  });

  test('USER_PASSWORD_AUTH sign-in; GET / with the access token; sign-out', async () => {
    const app = await openApp();
    try {
      assertSignedIn(await app.signIn(), DEMO_USER.email, 'USER_PASSWORD_AUTH');
      assert.deepEqual(app.seen.cognito, ['InitiateAuth(USER_PASSWORD_AUTH)']);
      const page = await app.click('call');
      assertNumber(page, 'call');
      console.log(`USER_PASSWORD_AUTH: ${app.seen.cognito.join(' -> ')}; GET / -> 200, the page shows ${page.number}`);
      // signOut revokes the refresh token (RevokeToken, which moto lacks: Amplify retries, ignores
      // the failure and forgets the tokens anyway).
      const out = await app.click('sign-out');
      assert.equal(out.error, '');
      assert.equal(out.user, '', 'signed out');
      const after = await app.click('call');
      assert.equal(after.error, 'Error: not signed in');
      const revokes = app.seen.cognito.filter((call) => call === 'RevokeToken()').length;
      console.log(`  sign-out: RevokeToken x${revokes} (moto: 500), then the page says "${after.error}"`);
    } finally {
      await app.close();
    }
  });

  test("moto and SRP: a pool that signs in with a plain user name refuses Amplify's SRP answer; USER_PASSWORD_AUTH works", async () => {
    const app = await openApp({ pool: namePool });
    try {
      const login = { login: NAME_USER.username, password: NAME_USER.password };
      const srp = await app.signIn({ ...login, flow: 'USER_SRP_AUTH' });
      // Amplify answers PASSWORD_VERIFIER with USERNAME = USER_ID_FOR_SRP, which moto sets to the
      // user's sub, and moto looks users up by name (docs/get-a-token.md).
      assert.deepEqual(app.seen.cognito, ['InitiateAuth(USER_SRP_AUTH)', 'RespondToAuthChallenge(PASSWORD_VERIFIER)']);
      assert.equal(srp.error, 'UserNotFoundException: User does not exist.');
      assert.equal(srp.user, '');
      const password = await app.signIn(login);
      assertSignedIn(password, NAME_USER.username, 'USER_PASSWORD_AUTH');
      console.log(`plain user-name pool: SRP -> "${srp.error}"; USER_PASSWORD_AUTH -> signed in as ${password.user}`);
    } finally {
      await app.close();
    }
  });

  test('the ID token: the page reads the reason from the JSON body and from WWW-Authenticate', async () => {
    const app = await openApp();
    try {
      await app.signIn();
      const page = await app.click('call-id-token');
      assert.equal(claims(app.seen.bearer[0]).token_use, 'id');
      assert.equal(page.status, '401');
      assert.equal(page.number, '');
      assert.equal(page.reason, ID_TOKEN_REASON, 'from the body');
      assert.equal(page.challenge, ID_TOKEN_REASON, 'from WWW-Authenticate (an exposed header)');
      console.log(`ID token: 401; body says "${page.reason}"; WWW-Authenticate says "${page.challenge}"`);
    } finally {
      await app.close();
    }
  });

  test('a renewed session: fetchAuthSession({ forceRefresh: true }) and a call with the new access token', async () => {
    const translator = await startRefreshTranslator();
    const app = await openApp({ userPoolEndpoint: translator.endpoint });
    try {
      await app.signIn();
      assertNumber(await app.click('call'), 'before renewal');
      const old = app.seen.bearer[0];

      // aws-amplify 6.22.1 renews with GetTokensFromRefreshToken (refreshAuthTokens.mjs), which
      // moto does not have: it answers 500 without CORS headers, so the page's fetch fails.
      // Amplify keeps the tokens (a network error is not an authentication error) and they work.
      const failed = await app.click('renew');
      const attempts = app.seen.cognito.filter((call) => call === 'GetTokensFromRefreshToken()').length;
      assert.ok(attempts >= 1, 'Amplify called GetTokensFromRefreshToken');
      assert.match(failed.error, /^NetworkError: /, 'moto lacks the call');
      assert.equal(failed.user, `${DEMO_USER.email} (USER_PASSWORD_AUTH)`, 'still signed in');
      assertNumber(await app.click('call'), 'after the failed renewal, with the old token');
      assert.equal(app.seen.bearer[1], old);
      console.log(
        `renewal against moto: GetTokensFromRefreshToken x${attempts} -> page: "${failed.error}"; the old token still works`,
      );

      // What can be tested: the same refresh token, given to the call moto has (InitiateAuth
      // REFRESH_TOKEN_AUTH, what Amplify used before 6.15), renews the session through Amplify's
      // own refresh path and storage.
      translator.state.translate = true;
      const renewed = await app.click('renew');
      assert.equal(renewed.error, '', 'renewed');
      assert.equal(translator.state.translated, 1);
      const page = await app.click('call');
      assertNumber(page, 'with the renewed token');
      const fresh = app.seen.bearer.at(-1);
      assert.notEqual(fresh, old, 'a new access token');
      assert.equal(claims(fresh).token_use, 'access');
      assert.equal(claims(fresh).origin_jti, claims(old).origin_jti, 'from the same sign-in');
      console.log(
        `renewal, GetTokensFromRefreshToken sent to moto as InitiateAuth(REFRESH_TOKEN_AUTH): a new access token (jti ${claims(old).jti} -> ${claims(fresh).jti}); GET / -> 200, the page shows ${page.number}`,
      );
    } finally {
      await app.close();
      await translator.close();
    }
  });

  test('a header the app adds (traceparent) passes the preflight when CORS_ALLOWED_HEADERS names it; the preflight is cached', async () => {
    const app = await openApp({ server: api.listed });
    try {
      await app.signIn();
      await app.setTraceparent(true);
      const from = api.listed.logs.length;
      const first = await app.click('call');
      assertNumber(first, 'with traceparent');
      const second = await app.click('call');
      assertNumber(second, 'again');
      // Access-Control-Max-Age (600 s): Chromium asks once, then reuses the answer.
      const seen = await requests(api.listed, from, 3);
      assert.deepEqual(seen, ['OPTIONS / 200', 'GET / 200', 'GET / 200']);
      console.log(
        `traceparent, CORS_ALLOWED_HEADERS=traceparent: GET / -> 200, the page shows ${first.number}, then ${second.number}; randapi saw: ${seen.join(', ')}`,
      );
    } finally {
      await app.close();
    }
  });

  test('without CORS_ALLOWED_HEADERS the same header fails the preflight: the page sees a TypeError', async () => {
    const app = await openApp({ server: api.plain });
    try {
      await app.signIn();
      await app.setTraceparent(true);
      const from = api.plain.logs.length;
      const page = await app.click('call');
      assert.equal(page.status, '', 'the page never sees a response');
      assert.equal(page.number, '');
      assert.equal(page.error, 'TypeError: Failed to fetch');
      const cors = app.seen.consoleErrors.find((text) => /CORS policy/.test(text)) ?? '';
      assert.match(
        cors,
        /Request header field traceparent is not allowed by Access-Control-Allow-Headers in preflight response/,
      );
      await app.setTraceparent(false);
      assertNumber(await app.click('call'), 'the same call without the header (CORS_ALLOWED_ORIGINS unset: *)');
      // The preflight reached randapi and was answered; the first GET was never sent. (A preflight
      // that failed the check is not cached: the second call asks again.)
      assert.deepEqual(await requests(api.plain, from, 3), ['OPTIONS / 200', 'OPTIONS / 200', 'GET / 200']);
      console.log(`traceparent, CORS_ALLOWED_HEADERS unset: page: "${page.error}"; randapi saw only the preflight`);
      console.log(`  console: ${cors}`);
    } finally {
      await app.close();
    }
  });

  test("CORS_ALLOWED_ORIGINS without the page's origin: a CORS error, no number", async () => {
    const app = await openApp({ server: api.elsewhere });
    try {
      await app.signIn();
      const page = await app.click('call');
      assert.equal(page.status, '');
      assert.equal(page.number, '');
      assert.equal(page.error, 'TypeError: Failed to fetch');
      const cors = app.seen.consoleErrors.find((text) => /CORS policy/.test(text)) ?? '';
      assert.match(cors, /No 'Access-Control-Allow-Origin' header is present/);
      console.log(`CORS_ALLOWED_ORIGINS=https://app.example.com: page: "${page.error}"`);
      console.log(`  console: ${cors}`);
    } finally {
      await app.close();
    }
  });
});
