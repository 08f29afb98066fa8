// Turns the outputs of a randapi deployment into Amplify's configuration and the API's URL.
//
// Accepted, as each deploy path writes them (see docs/browser-and-postman.md):
//   - Amplify Gen2: amplify_outputs.json, with randapi's URL under custom.API.randapi
//     (deploy/amplify-gen2/amplify/backend.ts puts it there);
//   - the CDK app: the file `cdk deploy --outputs-file cdk-outputs.json` writes, keyed by stack
//     name, with the outputs ApiUrl, UserPoolId, UserPoolClientId and Region;
//   - Amplify Gen1: the object of aws-exports.js, with the API under aws_cloud_logic_custom.
// For local work against a Cognito emulator, an amplify_outputs.json may also carry
// custom.userPoolEndpoint (web/dev.mjs writes one for moto): see `withEndpoint` below.

import { parseAmplifyConfig } from 'aws-amplify/utils';

/** The API's name in Gen2's custom.API and in Gen1's aws_cloud_logic_custom. */
export const API_NAME = 'randapi';

/**
 * @param {object} outputs one of the shapes above, parsed from JSON
 * @returns {{ amplify: object, apiUrl: string, source: string }} what `Amplify.configure` takes,
 *   the URL that `GET` answers a random number on, and which shape was read
 */
export function fromOutputs(outputs) {
  if (typeof outputs !== 'object' || outputs === null) throw new Error('settings: not a JSON object');
  if (typeof outputs.version === 'string' && outputs.auth) {
    const api = outputs.custom?.API?.[API_NAME];
    return {
      amplify: withEndpoint(parseAmplifyConfig(outputs), outputs.custom?.userPoolEndpoint),
      apiUrl: url(api?.endpoint, 'custom.API.randapi.endpoint', '/'),
      source: outputs.custom?.userPoolEndpoint
        ? 'amplify_outputs.json with custom.userPoolEndpoint (a local emulator)'
        : 'amplify_outputs.json (Gen2)',
    };
  }
  if (typeof outputs.aws_user_pools_id === 'string') {
    const api = outputs.aws_cloud_logic_custom?.find((entry) => entry.name === API_NAME);
    return {
      amplify: parseAmplifyConfig(outputs),
      // Gen1's API Gateway leaves only `OPTIONS /{proxy+}` without the authorizer, so a browser's
      // preflight to `/` gets a 401 there: call `/random`, the same handler on a proxied path.
      apiUrl: url(api?.endpoint, 'aws_cloud_logic_custom[name=randapi].endpoint', '/random'),
      source: 'aws-exports.js (Gen1)',
    };
  }
  const stack = Object.values(outputs).find((value) => typeof value?.UserPoolId === 'string');
  if (stack) {
    return {
      // Amplify's parsers do not know this shape: this is the ResourcesConfig they would make.
      amplify: {
        Auth: {
          Cognito: {
            userPoolId: stack.UserPoolId,
            userPoolClientId: stack.UserPoolClientId,
            loginWith: { email: true },
          },
        },
      },
      apiUrl: url(stack.ApiUrl, 'ApiUrl', '/'),
      source: 'cdk-outputs.json (CDK)',
    };
  }
  throw new Error('settings: neither amplify_outputs.json, cdk-outputs.json nor aws-exports.js');
}

// Amplify sends its user pool calls to `userPoolEndpoint` when it is set (aws-amplify's
// CognitoUserPoolConfig), and to https://cognito-idp.<region>.amazonaws.com/ otherwise.
// parseAmplifyOutputs and parseAWSExports never read that field, so it cannot come from a
// deploy's outputs: it is put into the parsed configuration here.
function withEndpoint(amplify, userPoolEndpoint) {
  if (userPoolEndpoint === undefined) return amplify;
  return {
    ...amplify,
    Auth: { ...amplify.Auth, Cognito: { ...amplify.Auth.Cognito, userPoolEndpoint } },
  };
}

function url(base, name, path) {
  if (typeof base !== 'string' || base === '') throw new Error(`settings: no ${name}`);
  // Relative to the base, so that a stage path in it (`.../dev/`) is kept.
  return new URL(path.slice(1), base.endsWith('/') ? base : `${base}/`).href;
}
