// moto's Cognito emulator (`moto_server`, installed by scripts/cognito.sh) on 127.0.0.1 and a
// free port, and the few Cognito calls that make a user pool, an app client and a user.
//
// The calls are Cognito's JSON protocol posted with fetch (moto checks no signature), not the
// AWS SDK: five calls do not justify an SDK in this package, and the aws CLI costs about a second
// per call to start.

import { startProcess } from './process.mjs';

/** The region of every pool moto makes here (moto's default; its pool ids start with it). */
export const REGION = 'us-east-1';

/** @returns {Promise<{ endpoint: string, stop: () => Promise<void> }>} */
export async function startMoto() {
  const { value: port, stop } = await startProcess('moto_server', ['-H', '127.0.0.1', '-p', '0'], {
    name: 'moto_server (run scripts/cognito.sh to install it)',
    env: process.env,
    // werkzeug's " * Running on http://127.0.0.1:<port>" on stderr.
    stream: 'stderr',
    ready: (line) => /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(line)?.[1],
  });
  return { endpoint: `http://127.0.0.1:${port}`, stop };
}

/** One Cognito call (`action`, e.g. 'CreateUserPool') to `endpoint`; its JSON answer. */
export async function cognito(endpoint, action, body) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AWSCognitoIdentityProviderService.${action}`,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${action}: HTTP ${response.status} ${text.slice(0, 200)}`);
  return text === '' ? {} : JSON.parse(text);
}

/** The `iss` moto writes (the real AWS form) and the JWKS URL it serves (not under `iss`). */
export function issuerAndJwks(endpoint, poolId) {
  return {
    COGNITO_ISSUER: `https://cognito-idp.${REGION}.amazonaws.com/${poolId}`,
    COGNITO_JWKS_URL: `${endpoint}/${poolId}/.well-known/jwks.json`,
  };
}

/**
 * A user pool and a web client without a secret that allows SRP, USER_PASSWORD_AUTH and refresh.
 * `emailSignIn`: users sign in with their e-mail address (`UsernameAttributes: [email]`), as the
 * pools of all three deploy paths do; otherwise with a plain user name.
 * @returns {Promise<{ poolId: string, clientId: string }>}
 */
export async function createPool(endpoint, { name, emailSignIn }) {
  const { UserPool } = await cognito(endpoint, 'CreateUserPool', {
    PoolName: name,
    ...(emailSignIn ? { UsernameAttributes: ['email'], AutoVerifiedAttributes: ['email'] } : {}),
  });
  const { UserPoolClient } = await cognito(endpoint, 'CreateUserPoolClient', {
    UserPoolId: UserPool.Id,
    ClientName: 'web',
    ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
  });
  return { poolId: UserPool.Id, clientId: UserPoolClient.ClientId };
}

/** A confirmed user with a permanent password, as an administrator makes one. */
export async function createUser(endpoint, poolId, { username, email, password }) {
  await cognito(endpoint, 'AdminCreateUser', {
    UserPoolId: poolId,
    Username: username,
    UserAttributes: [
      { Name: 'email', Value: email },
      { Name: 'email_verified', Value: 'true' },
    ],
    MessageAction: 'SUPPRESS',
  });
  await cognito(endpoint, 'AdminSetUserPassword', {
    UserPoolId: poolId,
    Username: username,
    Password: password,
    Permanent: true,
  });
}
