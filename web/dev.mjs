// The example in one command (`npm run dev`, from web/).
//
//   node dev.mjs                   local: moto, a user pool whose users sign in with e-mail, one
//                                  user, randapi pointed at that pool, and the page; prints the URL
//   node dev.mjs --outputs FILE    the page only, against a deployment: FILE is amplify_outputs.json
//                                  (Gen2), cdk-outputs.json (`cdk deploy --outputs-file`) or
//                                  aws-exports.js (Gen1)
//   node dev.mjs --build [--outputs FILE]
//                                  writes dist/ (index.html, main.js, and settings.json from FILE)
//   --port N                       the page's port (default 5173; 0: a free one)
//
// Everything listens on 127.0.0.1; Ctrl-C stops what was started.

import { spawnSync } from 'node:child_process';
import { mkdir, readFile, copyFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { REGION, createPool, createUser, issuerAndJwks, startMoto } from './local/moto.mjs';
import { RANDAPI_BIN, startRandapi } from './local/randapi.mjs';
import { bundle, startSite } from './local/site.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The demo user of the local stack (an emulator's user: not a secret). */
export const DEMO_USER = { email: 'demo@example.com', password: 'Passw0rd!' };

/** The header the local stack allows besides authorization and content-type. */
export const DEMO_ALLOWED_HEADERS = 'traceparent';

/** Reads a deployment's outputs: JSON, or Gen1's aws-exports.js (an ES module with a default export). */
export async function readOutputs(file) {
  const text = await readFile(file, 'utf8');
  if (!file.endsWith('.js')) return JSON.parse(text);
  const module = await import(`data:text/javascript;base64,${Buffer.from(text).toString('base64')}`);
  return module.default;
}

/**
 * The settings the page reads for a local stack: the amplify_outputs.json a Gen2 sandbox would
 * write for this pool, plus `custom.userPoolEndpoint`, which only an emulator needs.
 */
export function localSettings({ moto, poolId, clientId, api }) {
  return {
    version: '1.4',
    auth: {
      aws_region: REGION,
      user_pool_id: poolId,
      user_pool_client_id: clientId,
      username_attributes: ['email'],
    },
    custom: {
      API: { randapi: { endpoint: api, region: REGION, apiName: 'randapi' } },
      userPoolEndpoint: moto,
    },
  };
}

async function ensureBinary() {
  if (process.env.RANDAPI_BIN) return;
  const built = spawnSync('cargo', ['build', '--bin', 'randapi'], { stdio: 'inherit', cwd: path.join(here, '..') });
  if (built.status !== 0)
    throw new Error(`cargo build --bin randapi failed; or set RANDAPI_BIN (looked for ${RANDAPI_BIN})`);
}

async function build(outputsFile) {
  const dist = path.join(here, 'dist');
  await mkdir(dist, { recursive: true });
  const script = await bundle();
  await writeFile(path.join(dist, 'main.js'), script);
  await copyFile(path.join(here, 'app', 'index.html'), path.join(dist, 'index.html'));
  if (outputsFile)
    await writeFile(path.join(dist, 'settings.json'), JSON.stringify(await readOutputs(outputsFile), null, 2));
  console.log(`wrote ${dist}: index.html, main.js (${script.length} bytes)${outputsFile ? ', settings.json' : ''}`);
}

async function serve({ port, outputsFile }) {
  const stops = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  process.once('SIGINT', () => stopAll().then(() => process.exit(130)));
  process.once('SIGTERM', () => stopAll().then(() => process.exit(143)));
  try {
    const script = await bundle();
    let settings = outputsFile ? await readOutputs(outputsFile) : {};
    const site = await startSite({ port, script, settings: (dir) => (dir === '/' ? settings : undefined) });
    stops.push(site.close);
    if (outputsFile) {
      console.log(`randapi web example: ${site.origin}/  (settings from ${outputsFile})`);
      console.log(`the API must allow this origin: CORS_ALLOWED_ORIGINS / the gateway's CORS settings`);
      return;
    }
    await ensureBinary();
    const moto = await startMoto();
    stops.push(moto.stop);
    const { poolId, clientId } = await createPool(moto.endpoint, { name: 'randapi-web', emailSignIn: true });
    await createUser(moto.endpoint, poolId, { username: DEMO_USER.email, ...DEMO_USER });
    const api = await startRandapi({
      env: {
        ...issuerAndJwks(moto.endpoint, poolId),
        COGNITO_CLIENT_IDS: clientId,
        CORS_ALLOWED_ORIGINS: site.origin,
        CORS_ALLOWED_HEADERS: DEMO_ALLOWED_HEADERS,
      },
    });
    stops.push(api.stop);
    settings = localSettings({ moto: moto.endpoint, poolId, clientId, api: api.base });
    console.log(`randapi web example, local: open ${site.origin}/`);
    console.log(`  sign in as ${DEMO_USER.email}, password ${DEMO_USER.password}`);
    console.log(
      `  randapi  ${api.base}  (CORS_ALLOWED_ORIGINS=${site.origin} CORS_ALLOWED_HEADERS=${DEMO_ALLOWED_HEADERS})`,
    );
    console.log(`  moto     ${moto.endpoint}  (user pool ${poolId}, app client ${clientId})`);
    console.log('Ctrl-C stops them.');
  } catch (error) {
    await stopAll();
    throw error;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { outputs: { type: 'string' }, port: { type: 'string', default: '5173' }, build: { type: 'boolean' } },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port: ${values.port}`);
  if (values.build) await build(values.outputs);
  else await serve({ port, outputsFile: values.outputs });
}
