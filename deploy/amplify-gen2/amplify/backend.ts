// Amplify Gen2 entry point: Amplify's auth, and randapi (Fargate + HTTP API) in a custom stack
// built by the same construct as the plain CDK app (../../cdk/lib/randapi-service.ts).
import { defineBackend } from '@aws-amplify/backend';
import { Stack } from 'aws-cdk-lib';

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

const stack = backend.createStack('randapi');
const randapi = new RandapiService(stack, 'Randapi', {
  userPool: backend.auth.resources.userPool,
  userPoolClient: backend.auth.resources.userPoolClient,
});

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
