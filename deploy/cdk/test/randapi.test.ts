// What the synthesized stack must hold. Run: npm test (tsc, then node --test dist/test/).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';

import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

import { RandapiStack, stackPropsFromContext } from '../lib/randapi-stack';
import {
  CONTAINER_PORT,
  RandapiService,
  repositoryRoot,
  SHUTDOWN_DELAY,
  SHUTDOWN_GRACE,
  STOP_TIMEOUT,
} from '../lib/randapi-service';

const REGION = 'eu-west-1';
const ROOT = repositoryRoot();
const DOCKERFILE = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
// The feature flags `cdk synth` passes to the app (cdk.json), so the tests see the same template.
const FLAGS: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;
const newApp = (context: Record<string, unknown> = {}) => new App({ context: { ...FLAGS, ...context } });

/** The stack as `npx cdk synth -c region=eu-west-1 -c <context>` builds it. */
function synth(context: Record<string, string> = {}) {
  const app = newApp({ region: REGION, ...context });
  const stack = new RandapiStack(app, 'Randapi', stackPropsFromContext(app));
  const template = Template.fromStack(stack);
  return { app, stack, template };
}

type Resource = { Type: string; Properties: Record<string, any> };
function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}
function only(template: Template, type: string): [string, Resource] {
  const found = resources(template, type);
  assert.equal(found.length, 1, `exactly one ${type}, got ${found.length}`);
  return found[0];
}
function container(template: Template): Record<string, any> {
  const [, task] = only(template, 'AWS::ECS::TaskDefinition');
  assert.equal(task.Properties.ContainerDefinitions.length, 1);
  return task.Properties.ContainerDefinitions[0];
}
function env(template: Template): Record<string, unknown> {
  return Object.fromEntries(container(template).Environment.map((e: any) => [e.Name, e.Value]));
}
function logicalId(template: Template, type: string): string {
  return only(template, type)[0];
}
const seconds = (s: string) => {
  const m = /^(\d+)s$/.exec(s);
  assert.ok(m, `duration ${s}`);
  return Number(m[1]);
};

/** Every Lambda runtime in a template must be nodejs22.x or newer (nothing near deprecation). */
function assertNoOldLambdaRuntime(template: Template) {
  for (const [id, fn] of resources(template, 'AWS::Lambda::Function')) {
    const runtime = String(fn.Properties.Runtime ?? '');
    const m = /^nodejs(\d+)\.x$/.exec(runtime);
    assert.ok(m, `${id}: runtime ${JSON.stringify(runtime)} is not a nodejsNN.x runtime`);
    assert.ok(Number(m[1]) >= 22, `${id}: runtime ${runtime} is older than nodejs22.x`);
  }
  // CDK's log-retention Lambda would come with the container's logRetention option: not used.
  assert.deepEqual(resources(template, 'Custom::LogRetention'), []);
}

describe('default stack (new VPC, new user pool)', () => {
  const { app, stack, template } = synth();

  test('a new VPC: two public subnets, no NAT gateway; an ECS cluster; a Cloud Map namespace', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.resourceCountIs('AWS::ServiceDiscovery::PrivateDnsNamespace', 1);
    for (const [, subnet] of resources(template, 'AWS::EC2::Subnet')) {
      assert.equal(subnet.Properties.MapPublicIpOnLaunch, true);
    }
  });

  test('the image is built from the repository Dockerfile, runtime stage, linux/amd64, from a small context', () => {
    const image = container(template).Image;
    assert.match(JSON.stringify(image), /container-assets/);
    const manifest = JSON.parse(
      fs.readFileSync(path.join(app.outdir, `${stack.artifactId}.assets.json`), 'utf8'),
    );
    const images = Object.values(manifest.dockerImages ?? {}) as any[];
    assert.equal(images.length, 1, 'one Docker image asset');
    const source = images[0].source;
    assert.equal(source.dockerBuildTarget, 'runtime');
    assert.equal(source.platform, 'linux/amd64');
    assert.equal(source.dockerFile ?? 'Dockerfile', 'Dockerfile');
    // The staged build context: what .dockerignore lets through, plus the Dockerfile itself.
    const staged = path.join(app.outdir, source.directory);
    const files: string[] = [];
    const walk = (dir: string, rel: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const r = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(path.join(dir, entry.name), r);
        else files.push(r);
      }
    };
    walk(staged, '');
    const outside = files.filter(
      (f) => !['Dockerfile', '.dockerignore', 'Cargo.toml', 'Cargo.lock'].includes(f) && !f.startsWith('src/'),
    );
    assert.deepEqual(outside, [], 'only the crate and the Dockerfile are in the build context');
    assert.ok(files.includes('src/main.rs') && files.includes('Cargo.lock'));
    assert.ok(!files.some((f) => f.includes('node_modules') || f.includes('cdk.out') || f.startsWith('target/')));
  });

  test('container: Cognito ids from the pool and client, shutdown timings, stopTimeout covers delay + grace', () => {
    const e = env(template);
    assert.deepEqual(e.COGNITO_USER_POOL_ID, { Ref: logicalId(template, 'AWS::Cognito::UserPool') });
    assert.deepEqual(e.COGNITO_CLIENT_IDS, { Ref: logicalId(template, 'AWS::Cognito::UserPoolClient') });
    assert.equal(e.PORT, String(CONTAINER_PORT));
    assert.equal(e.SHUTDOWN_DELAY, '5s');
    assert.equal(e.SHUTDOWN_GRACE, '20s');
    const c = container(template);
    assert.equal(c.StopTimeout, 30);
    assert.ok(
      c.StopTimeout > seconds(String(e.SHUTDOWN_DELAY)) + seconds(String(e.SHUTDOWN_GRACE)),
      'SIGKILL comes only after randapi has had its delay and grace',
    );
    assert.equal(STOP_TIMEOUT.toSeconds(), SHUTDOWN_DELAY.toSeconds() + SHUTDOWN_GRACE.toSeconds() + 5);
    assert.ok(c.StopTimeout <= 120, 'Fargate allows at most 120 s');
    assert.deepEqual(c.PortMappings, [{ ContainerPort: CONTAINER_PORT, Name: 'http', Protocol: 'tcp' }]);
    assert.match(DOCKERFILE, new RegExp(`^EXPOSE ${CONTAINER_PORT}$`, 'm'));
  });

  test('container: health check `randapi healthcheck` at the path the Dockerfile installs it', () => {
    const c = container(template);
    assert.deepEqual(c.HealthCheck.Command, ['CMD', '/randapi', 'healthcheck']);
    assert.match(DOCKERFILE, /^COPY --from=builder \/usr\/local\/bin\/randapi \/randapi$/m);
    assert.match(DOCKERFILE, /^ENTRYPOINT \["\/randapi"\]$/m);
    assert.ok(c.HealthCheck.Timeout < c.HealthCheck.Interval);
    assert.ok(c.HealthCheck.Retries >= 2);
    assert.equal(c.EntryPoint, undefined, "the image's ENTRYPOINT is used");
    assert.equal(c.Command, undefined);
  });

  test('container: read-only root filesystem, the non-root user of the Dockerfile', () => {
    const c = container(template);
    assert.equal(c.ReadonlyRootFilesystem, true);
    assert.equal(c.User, '10001:10001');
    assert.match(DOCKERFILE, /^USER 10001:10001$/m);
    assert.notEqual(c.Privileged, true);
  });

  test('logs go to a log group with retention', () => {
    const [groupId, group] = only(template, 'AWS::Logs::LogGroup');
    assert.equal(group.Properties.RetentionInDays, 30);
    const log = container(template).LogConfiguration;
    assert.equal(log.LogDriver, 'awslogs');
    assert.deepEqual(log.Options['awslogs-group'], { Ref: groupId });
  });

  test('service: zero-downtime deployment settings, circuit breaker with rollback, registered in Cloud Map (SRV)', () => {
    const [, service] = only(template, 'AWS::ECS::Service');
    const p = service.Properties;
    assert.equal(p.LaunchType, 'FARGATE');
    assert.deepEqual(p.DeploymentConfiguration, {
      DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      MaximumPercent: 200,
      MinimumHealthyPercent: 100,
    });
    assert.equal(p.DesiredCount, 1);
    assert.equal(p.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, 'ENABLED');
    const [cloudMapId, cloudMap] = only(template, 'AWS::ServiceDiscovery::Service');
    assert.deepEqual(p.ServiceRegistries, [
      { ContainerName: 'api', ContainerPort: CONTAINER_PORT, RegistryArn: { 'Fn::GetAtt': [cloudMapId, 'Arn'] } },
    ]);
    assert.deepEqual(cloudMap.Properties.DnsConfig.DnsRecords.map((r: any) => r.Type), ['SRV']);
  });

  test('tasks accept traffic only from the VPC link, on the container port', () => {
    const [linkId, link] = only(template, 'AWS::ApiGatewayV2::VpcLink');
    const linkSg = link.Properties.SecurityGroupIds[0]['Fn::GetAtt'][0];
    const ingress = resources(template, 'AWS::EC2::SecurityGroupIngress').map(([, r]) => r.Properties);
    assert.equal(ingress.length, 1);
    assert.deepEqual(ingress[0].SourceSecurityGroupId, { 'Fn::GetAtt': [linkSg, 'GroupId'] });
    assert.equal(ingress[0].FromPort, CONTAINER_PORT);
    assert.equal(ingress[0].ToPort, CONTAINER_PORT);
    for (const [, sg] of resources(template, 'AWS::EC2::SecurityGroup')) {
      assert.equal(sg.Properties.SecurityGroupIngress, undefined, 'no inline (open) ingress');
    }
    const integration = only(template, 'AWS::ApiGatewayV2::Integration')[1].Properties;
    assert.equal(integration.ConnectionType, 'VPC_LINK');
    assert.deepEqual(integration.ConnectionId, { Ref: linkId });
    assert.equal(integration.IntegrationType, 'HTTP_PROXY');
    assert.deepEqual(integration.IntegrationUri, {
      'Fn::GetAtt': [logicalId(template, 'AWS::ServiceDiscovery::Service'), 'Arn'],
    });
  });

  test('routes: GET / and GET /{proxy+} behind the JWT authorizer; no route catches a preflight', () => {
    const authorizerId = logicalId(template, 'AWS::ApiGatewayV2::Authorizer');
    const routes = resources(template, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    assert.deepEqual(routes.map((r) => r.RouteKey).sort(), ['GET /', 'GET /{proxy+}']);
    for (const r of routes) {
      assert.equal(r.AuthorizationType, 'JWT', r.RouteKey);
      assert.deepEqual(r.AuthorizerId, { Ref: authorizerId }, r.RouteKey);
    }
    // No $default, no ANY, no OPTIONS route: the gateway's CORS answers every preflight.
    assert.ok(!routes.some((r) => /^(\$default|ANY |OPTIONS )/.test(r.RouteKey)));
  });

  test('CORS names authorization and content-type (the Fetch standard: `*` does not cover authorization)', () => {
    const cors = only(template, 'AWS::ApiGatewayV2::Api')[1].Properties.CorsConfiguration;
    assert.deepEqual(cors.AllowHeaders, ['authorization', 'content-type']);
    assert.ok(cors.AllowMethods.includes('GET') && cors.AllowMethods.includes('OPTIONS'));
    assert.deepEqual(cors.AllowOrigins, ['*']);
    assert.notEqual(cors.AllowCredentials, true);
  });

  test('JWT authorizer: issuer is the pool, audience is the web client', () => {
    const jwt = only(template, 'AWS::ApiGatewayV2::Authorizer')[1].Properties;
    assert.equal(jwt.AuthorizerType, 'JWT');
    assert.deepEqual(jwt.IdentitySource, ['$request.header.Authorization']);
    assert.deepEqual(jwt.JwtConfiguration.Issuer, {
      'Fn::Join': ['', [`https://cognito-idp.${REGION}.amazonaws.com/`, { Ref: logicalId(template, 'AWS::Cognito::UserPool') }]],
    });
    assert.deepEqual(jwt.JwtConfiguration.Audience, [{ Ref: logicalId(template, 'AWS::Cognito::UserPoolClient') }]);
  });

  test('Cognito: a pool and a web client with no secret, SRP and USER_PASSWORD_AUTH', () => {
    const client = only(template, 'AWS::Cognito::UserPoolClient')[1].Properties;
    assert.equal(client.GenerateSecret, false);
    assert.deepEqual([...client.ExplicitAuthFlows].sort(), [
      'ALLOW_REFRESH_TOKEN_AUTH',
      'ALLOW_USER_PASSWORD_AUTH',
      'ALLOW_USER_SRP_AUTH',
    ]);
    assert.deepEqual(client.UserPoolId, { Ref: logicalId(template, 'AWS::Cognito::UserPool') });
    const pool = only(template, 'AWS::Cognito::UserPool')[1].Properties;
    assert.equal(pool.AdminCreateUserConfig.AllowAdminCreateUserOnly, true, 'no self sign-up');
  });

  test('autoscaling: 1 to 4 tasks (default), CPU target tracking', () => {
    const target = only(template, 'AWS::ApplicationAutoScaling::ScalableTarget')[1].Properties;
    assert.equal(target.MinCapacity, 1);
    assert.equal(target.MaxCapacity, 4);
    assert.equal(target.ScalableDimension, 'ecs:service:DesiredCount');
    const policy = only(template, 'AWS::ApplicationAutoScaling::ScalingPolicy')[1].Properties;
    assert.equal(policy.PolicyType, 'TargetTrackingScaling');
    const tracking = policy.TargetTrackingScalingPolicyConfiguration;
    assert.equal(tracking.PredefinedMetricSpecification.PredefinedMetricType, 'ECSServiceAverageCPUUtilization');
    assert.equal(tracking.TargetValue, 60);
  });

  test('alarm: JWKS fetch failures (randapi/JwksFetchFailures, Service=randapi) in 2 of 3 five-minute periods', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'randapi',
      MetricName: 'JwksFetchFailures',
      Dimensions: [{ Name: 'Service', Value: 'randapi' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
  });

  test('alarm: 503 rate = Responses503 / Requests over 5 minutes, above 5 %', () => {
    const alarms = resources(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const rate = alarms.find((a) => a.Metrics !== undefined);
    assert.ok(rate, 'a metric-math alarm');
    assert.equal(rate.Threshold, 5);
    assert.equal(rate.ComparisonOperator, 'GreaterThanThreshold');
    assert.equal(rate.EvaluationPeriods, 1);
    const byId = Object.fromEntries(rate.Metrics.map((m: any) => [m.Id, m]));
    const expressions = rate.Metrics.filter((m: any) => m.Expression !== undefined);
    assert.equal(expressions.length, 1);
    assert.equal(expressions[0].Expression, 'IF(requests >= 20, 100 * unavailable / requests, 0)');
    assert.notEqual(expressions[0].ReturnData, false, 'the expression is what the alarm evaluates');
    for (const [id, name] of [['requests', 'Requests'], ['unavailable', 'Responses503']]) {
      const stat = byId[id].MetricStat;
      assert.equal(byId[id].ReturnData, false);
      assert.deepEqual(stat.Metric, { Namespace: 'randapi', MetricName: name, Dimensions: [{ Name: 'Service', Value: 'randapi' }] });
      assert.equal(stat.Stat, 'Sum');
      assert.equal(stat.Period, 300);
    }
    assert.equal(alarms.length, 2);
    for (const a of alarms) assert.equal(a.AlarmActions, undefined, 'no SNS topic unless asked for');
  });

  test('outputs: API URL, pool id, client id, region', () => {
    const outputs = template.toJSON().Outputs;
    assert.deepEqual(Object.keys(outputs).sort(), ['ApiUrl', 'Region', 'UserPoolClientId', 'UserPoolId']);
    assert.deepEqual(outputs.UserPoolId.Value, { Ref: logicalId(template, 'AWS::Cognito::UserPool') });
    assert.deepEqual(outputs.UserPoolClientId.Value, { Ref: logicalId(template, 'AWS::Cognito::UserPoolClient') });
    assert.equal(outputs.Region.Value, REGION);
    assert.deepEqual(outputs.ApiUrl.Value, {
      'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(template, 'AWS::ApiGatewayV2::Api'), 'ApiEndpoint'] }, '/']],
    });
  });

  test('no Lambda on a runtime older than nodejs22.x (CDK adds one to restrict the default security group)', () => {
    const lambdas = resources(template, 'AWS::Lambda::Function');
    assert.ok(lambdas.length >= 1, 'the check sees the custom-resource Lambda CDK adds');
    assertNoOldLambdaRuntime(template);
  });
});

describe('existing resources by context', () => {
  test('userPoolId + clientId: no new pool; the container, authorizer and outputs use the given ids', () => {
    const { template } = synth({ userPoolId: 'eu-west-1_AbCdEf123', clientId: '1example23456789' });
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 0);
    const e = env(template);
    assert.equal(e.COGNITO_USER_POOL_ID, 'eu-west-1_AbCdEf123');
    assert.equal(e.COGNITO_CLIENT_IDS, '1example23456789');
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: {
        Audience: ['1example23456789'],
        Issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123',
      },
    });
    const outputs = template.toJSON().Outputs;
    assert.equal(outputs.UserPoolId.Value, 'eu-west-1_AbCdEf123');
    assert.equal(outputs.UserPoolClientId.Value, '1example23456789');
    assertNoOldLambdaRuntime(template);
  });

  test('userPoolId without clientId is refused', () => {
    assert.throws(() => synth({ userPoolId: 'eu-west-1_AbCdEf123' }), /userPoolId and clientId/);
  });

  test('an existing VPC: no new network; tasks in its private subnets without a public IP', () => {
    const stack = new Stack(newApp(), 'Existing', { env: { region: REGION } });
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
    });
    const pool = cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_AbCdEf123');
    const client = cognito.UserPoolClient.fromUserPoolClientId(stack, 'Client', '1example23456789');
    new RandapiService(stack, 'Randapi', { vpc, userPool: pool, userPoolClient: client });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 0);
    template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          AssignPublicIp: 'DISABLED',
          Subnets: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
        },
      },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::VpcLink', {
      SubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
    });
    template.hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', { Vpc: 'vpc-0123456789abcdef0' });
    assertNoOldLambdaRuntime(template);
  });

  test('a pool without a client is refused by the construct', () => {
    const stack = new Stack(newApp(), 'Half', { env: { region: REGION } });
    const pool = cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_AbCdEf123');
    assert.throws(() => new RandapiService(stack, 'Randapi', { userPool: pool }), /both userPool and userPoolClient/);
  });
});

describe('scaling and alarm context', () => {
  test('maxTasks sets the upper bound of the scalable target', () => {
    const { template } = synth({ maxTasks: '10' });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 10 });
  });

  test('a maxTasks that is not a whole number >= 1 stops the synth', () => {
    for (const bad of ['0', '-1', '2.5', 'many']) {
      assert.throws(() => synth({ maxTasks: bad }), /maxTasks/, bad);
    }
  });

  test('alarmEmail: a topic with that subscription, notified on alarm and on recovery', () => {
    const { template } = synth({ alarmEmail: 'ops@example.com' });
    const topicId = logicalId(template, 'AWS::SNS::Topic');
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const alarms = resources(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    assert.equal(alarms.length, 2);
    for (const a of alarms) {
      assert.deepEqual(a.AlarmActions, [{ Ref: topicId }]);
      assert.deepEqual(a.OKActions, [{ Ref: topicId }]);
    }
  });

  test('alarmTopicArn: alarms notify the existing topic', () => {
    const arn = 'arn:aws:sns:eu-west-1:123456789012:ops';
    const { template } = synth({ alarmTopicArn: arn });
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [arn], OKActions: [arn] });
  });

  test('corsAllowOrigins: the gateway and the container get the same list', () => {
    const { template } = synth({ corsAllowOrigins: 'https://app.example.com, https://admin.example.com' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://app.example.com', 'https://admin.example.com'],
        AllowHeaders: ['authorization', 'content-type'],
      }),
    });
    assert.equal(env(template).CORS_ALLOWED_ORIGINS, 'https://app.example.com,https://admin.example.com');
  });
});
