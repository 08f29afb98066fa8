// Amplify Gen2 entry point: Amplify's auth, and randapi (Fargate + HTTP API) in a custom stack
// built by the same construct as the plain CDK app (../../cdk/lib/randapi-service.ts). The image
// is built in AWS by CodeBuild at deploy time, so a branch build in the Amplify console (which has
// no Docker daemon) deploys it.
import { defineBackend } from '@aws-amplify/backend';
import { Stack, Stage, Validations } from 'aws-cdk-lib';

import { RandapiNagChecks } from '../../cdk/lib/nag';
import { RandapiService } from '../../cdk/lib/randapi-service';
import { auth } from './auth/resource';

const backend = defineBackend({ auth });

// Gen2's web client allows SRP (and CUSTOM_AUTH); randapi's docs and `randapi token` also use
// USER_PASSWORD_AUTH. The same three flows as the CDK app's client and the Gen1 override.
backend.auth.resources.cfnResources.cfnUserPoolClient.explicitAuthFlows = [
  'ALLOW_USER_SRP_AUTH',
  'ALLOW_USER_PASSWORD_AUTH',
  'ALLOW_REFRESH_TOKEN_AUTH',
];
// Amplify's defaults, kept here: anyone can sign up (self sign-up), and the identity pool gives
// guests (unauthenticated identities) AWS credentials for its guest role. randapi accepts any
// user of the pool, so with self sign-up on, anyone who signs up can call it. To turn either off:
//   backend.auth.resources.cfnResources.cfnUserPool.adminCreateUserConfig = { allowAdminCreateUserOnly: true };
//   backend.auth.resources.cfnResources.cfnIdentityPool.allowUnauthenticatedIdentities = false;

const stack = backend.createStack('randapi');
const randapi = new RandapiService(stack, 'Randapi', {
  userPool: backend.auth.resources.userPool,
  userPoolClient: backend.auth.resources.userPoolClient,
});

// cdk-nag's AwsSolutions pack on the randapi stack (Amplify's own stacks are not ours): a finding
// that ../../cdk/lib/nag.ts does not acknowledge fails the synth, as in the CDK app.
const app = Stage.of(stack);
if (app === undefined) throw new Error('the randapi stack is not in a CDK app');
Validations.of(app).addPlugins(new RandapiNagChecks(stack));

// amplify_outputs.json: `custom.API.randapi` has the shape Amplify JS's REST API config takes
// (see docs/deploy-with-cdk.md for the Amplify.configure call).
backend.addOutput({
  custom: {
    API: {
      randapi: {
        endpoint: randapi.apiUrl,
        region: Stack.of(randapi).region,
        apiName: 'randapi',
      },
    },
  },
});
