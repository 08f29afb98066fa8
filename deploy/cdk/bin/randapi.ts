#!/usr/bin/env node
// The plain CDK entry point: `npx cdk synth` / `npx cdk deploy` in deploy/cdk.
import { App } from 'aws-cdk-lib';

import { RandapiStack, stackPropsFromContext } from '../lib/randapi-stack';

const app = new App();
new RandapiStack(app, app.node.tryGetContext('stackName') ?? 'Randapi', stackPropsFromContext(app));
