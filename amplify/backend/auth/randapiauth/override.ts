import { AmplifyAuthCognitoStackTemplate } from '@aws-amplify/cli-extensibility-helper';

/**
 * The Gen1 auth walkthrough (and so cli-inputs.json) has no setting for the app clients' explicit
 * auth flows; `amplify override auth` is the supported way to set them.
 *
 * The web client (AppClientIDWeb) is the one API Gateway's JWT authorizer accepts and the one
 * randapi's COGNITO_CLIENT_IDS names. Its access tokens are what callers send:
 * - ALLOW_USER_SRP_AUTH: Amplify JS / the Hosted UI sign-in (the Cognito default);
 * - ALLOW_REFRESH_TOKEN_AUTH: refresh without signing in again (the Cognito default);
 * - ALLOW_USER_PASSWORD_AUTH: `aws cognito-idp initiate-auth --auth-flow USER_PASSWORD_AUTH`, so
 *   an operator can get an access token from a shell (docs/deploy-with-amplify.md) and
 *   smoke-test the deployed URL with curl.
 */
export function override(resources: AmplifyAuthCognitoStackTemplate) {
  resources.userPoolClientWeb.explicitAuthFlows = [
    'ALLOW_USER_SRP_AUTH',
    'ALLOW_REFRESH_TOKEN_AUTH',
    'ALLOW_USER_PASSWORD_AUTH',
  ];
}
