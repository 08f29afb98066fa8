#!/usr/bin/env node
// The plain CDK entry point: `npx cdk synth` / `npx cdk deploy` in deploy/cdk (`npm run deploy`
// does both, see scripts/deploy.ts).
import { App, Validations } from 'aws-cdk-lib';

import { RandapiNagChecks } from '../lib/nag';
import { RandapiStack, stackPropsFromContext } from '../lib/randapi-stack';

const app = new App();
const stack = new RandapiStack(app, app.node.tryGetContext('stackName') ?? 'Randapi', stackPropsFromContext(app));
// cdk-nag's AwsSolutions rules run at every synth; a finding that lib/nag.ts does not acknowledge
// (with its reason) fails the synth.
Validations.of(app).addPlugins(new RandapiNagChecks(stack));
