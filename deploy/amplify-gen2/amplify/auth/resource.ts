import { defineAuth } from '@aws-amplify/backend';

/**
 * The user pool and web client whose access tokens randapi accepts. Users sign in with e-mail.
 * backend.ts adds USER_PASSWORD_AUTH to the client (for `randapi token` and the AWS CLI).
 */
export const auth = defineAuth({
  loginWith: {
    email: true,
  },
});
