// The example: sign in with Amplify JS v6, then call randapi with the access token.
// Bundled by esbuild (`npm run build`, or on the fly by `npm run dev`); settings.json, served
// next to the page, holds the outputs of a deployment (see settings.js).

import { Amplify } from 'aws-amplify';
import { fetchAuthSession, signIn, signOut } from 'aws-amplify/auth';

import { fromOutputs } from './settings.js';

const element = (id) => document.getElementById(id);
const show = (id, text) => {
  element(id).textContent = text;
};
const RESULTS = ['number', 'status', 'reason', 'challenge', 'error'];

// Every action: clear the results, mark the page busy, show what went wrong. `data-state` is
// for the browser test, which waits for `idle` after each click.
function action(run) {
  return async (event) => {
    event?.preventDefault();
    document.body.dataset.state = 'busy';
    for (const id of RESULTS) show(id, '');
    try {
      await run();
    } catch (error) {
      show('error', `${error.name}: ${error.message}`);
    }
    await showSession();
    document.body.dataset.state = 'idle';
  };
}

async function showSession() {
  // Without forceRefresh this refreshes only expired tokens; a failed refresh throws.
  const { tokens } = await fetchAuthSession().catch(() => ({}));
  const details = tokens?.signInDetails;
  show('user', details ? `${details.loginId} (${details.authFlowType})` : '');
  show('expires', tokens ? new Date(tokens.accessToken.payload.exp * 1000).toISOString() : '');
}

async function signInWithForm() {
  const { isSignedIn, nextStep } = await signIn({
    username: element('email').value,
    password: element('password').value,
    options: { authFlowType: element('flow').value },
  });
  // A new password, MFA or a custom challenge would need confirmSignIn: not part of this example.
  if (!isSignedIn) throw new Error(`sign-in needs another step: ${nextStep.signInStep}`);
}

// W3C Trace Context: version 00, a random trace id and parent id, sampled.
function traceparent() {
  const hex = (bytes) =>
    Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `00-${hex(16)}-${hex(8)}-01`;
}

// GET the API with a bearer token: the access token, or (to show the refusal) the ID token.
async function callApi(apiUrl, which) {
  const { tokens } = await fetchAuthSession();
  if (!tokens) throw new Error('not signed in');
  const headers = { Authorization: `Bearer ${tokens[which].toString()}` };
  // A header the app adds is sent only if the API's preflight answer allows it
  // (randapi: CORS_ALLOWED_HEADERS); otherwise fetch rejects with a TypeError.
  if (element('traceparent').checked) headers.traceparent = traceparent();
  const response = await fetch(apiUrl, { headers });
  show('status', String(response.status));
  // Every answer of randapi is JSON; a refusal is {"error": code, "message": reason}, and a 401
  // also names the reason in WWW-Authenticate (exposed to scripts by the CORS answer).
  const body = await response.json();
  if (response.ok) {
    show('number', String(body.randomNumber));
  } else {
    show('reason', body.message);
    const challenge = response.headers.get('WWW-Authenticate') ?? '';
    show('challenge', /error_description="([^"]*)"/.exec(challenge)?.[1] ?? challenge);
  }
}

async function main() {
  const response = await fetch('settings.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`settings.json: HTTP ${response.status}`);
  const settings = fromOutputs(await response.json());
  Amplify.configure(settings.amplify);
  show('source', settings.source);
  show('api', settings.apiUrl);

  element('sign-in').addEventListener('submit', action(signInWithForm));
  element('sign-out').addEventListener(
    'click',
    action(() => signOut()),
  );
  element('call').addEventListener(
    'click',
    action(() => callApi(settings.apiUrl, 'accessToken')),
  );
  element('call-id-token').addEventListener(
    'click',
    action(() => callApi(settings.apiUrl, 'idToken')),
  );
  // Amplify refreshes expired tokens by itself; forceRefresh asks for new ones now.
  element('renew').addEventListener(
    'click',
    action(() => fetchAuthSession({ forceRefresh: true })),
  );
  await showSession();
}

main().then(
  () => {
    document.body.dataset.state = 'idle';
  },
  (error) => {
    show('error', `${error.name}: ${error.message}`);
    document.body.dataset.state = 'broken';
  },
);
