// Shared by the test files: synthesize the app as `npx cdk synth -c region=eu-west-1 -c ...` does,
// and read the template.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';

import { RandapiStack, stackPropsFromContext } from '../lib/randapi-stack';

export const REGION = 'eu-west-1';

// The feature flags `cdk synth` passes to the app (cdk.json), so the tests see the same template.
const FLAGS: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;
export const newApp = (context: Record<string, unknown> = {}) => new App({ context: { ...FLAGS, ...context } });

/** The stack as `npx cdk synth -c region=eu-west-1 -c <context>` builds it. */
export function synth(context: Record<string, unknown> = {}) {
  const app = newApp({ region: REGION, ...context });
  const stack = new RandapiStack(app, 'Randapi', stackPropsFromContext(app));
  const template = Template.fromStack(stack);
  return { app, stack, template };
}

export type Resource = { Type: string; Properties: Record<string, any> };
export function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}
export function only(template: Template, type: string): [string, Resource] {
  const found = resources(template, type);
  assert.equal(found.length, 1, `exactly one ${type}, got ${found.length}`);
  return found[0];
}
export function logicalId(template: Template, type: string): string {
  return only(template, type)[0];
}
export function container(template: Template): Record<string, any> {
  const [, task] = only(template, 'AWS::ECS::TaskDefinition');
  assert.equal(task.Properties.ContainerDefinitions.length, 1);
  return task.Properties.ContainerDefinitions[0];
}
export function env(template: Template): Record<string, unknown> {
  return Object.fromEntries(container(template).Environment.map((e: any) => [e.Name, e.Value]));
}
/** The alarms by name (AlarmName is `<stack>-randapi-<what>`). */
export function alarms(template: Template): Record<string, Record<string, any>> {
  return Object.fromEntries(
    resources(template, 'AWS::CloudWatch::Alarm').map(([, a]) => [a.Properties.AlarmName, a.Properties]),
  );
}

/** Every Lambda runtime in a template must be nodejs22.x or newer (nothing near deprecation). */
export function assertNoOldLambdaRuntime(template: Template) {
  for (const [id, fn] of resources(template, 'AWS::Lambda::Function')) {
    const runtime = String(fn.Properties.Runtime ?? '');
    const m = /^nodejs(\d+)\.x$/.exec(runtime);
    assert.ok(m, `${id}: runtime ${JSON.stringify(runtime)} is not a nodejsNN.x runtime`);
    assert.ok(Number(m[1]) >= 22, `${id}: runtime ${runtime} is older than nodejs22.x`);
  }
  // CDK's log-retention Lambda would come with the container's logRetention option: not used.
  assert.deepEqual(resources(template, 'Custom::LogRetention'), []);
}

/** The files under a folder, relative, sorted. */
export function filesUnder(dir: string): string[] {
  const files: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path.join(d, entry.name), r);
      else files.push(r);
    }
  };
  walk(dir, '');
  return files.sort();
}

/**
 * cdk-nag's AwsSolutions pack over a synthesized stack: the findings nobody acknowledged, as
 * `<rule id> at <construct path>` (empty when there are none). The same check that fails
 * `cdk synth` (bin/randapi.ts) and the Gen2 synth (RandapiNagChecks in backend.ts).
 */
export function nagFindings(stack: Stack): string[] {
  Template.fromStack(stack); // synthesized first, as `cdk synth` does before validating
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}
