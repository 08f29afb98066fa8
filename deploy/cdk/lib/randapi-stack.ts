// A thin stack around RandapiService: reads context, wires existing resources, adds outputs.
import { App, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

import { OAuthDomainProps, RandapiService } from './randapi-service';
import * as settings from './settings';

export interface RandapiStackProps extends StackProps {
  /** An existing VPC (looked up once with AWS credentials; cached in cdk.context.json). */
  readonly vpcId?: string;
  /** Tasks in public subnets with public IPs (default: detected, see RandapiServiceProps). */
  readonly publicSubnets?: boolean;
  /** An existing user pool and app client (both or neither). */
  readonly userPoolId?: string;
  readonly clientId?: string;
  readonly oauth?: OAuthDomainProps;
  readonly minTasks?: number;
  readonly maxTasks?: number;
  readonly cpu?: number;
  readonly memoryMiB?: number;
  readonly logRetention?: logs.RetentionDays;
  readonly architecture?: settings.Architecture;
  readonly imageBuild?: settings.ImageBuild;
  readonly imageUri?: string;
  readonly corsAllowOrigins?: string[];
  readonly corsAllowHeaders?: string[];
  readonly requiredScopes?: string[];
  /** Alarms notify an existing SNS topic, or a new one with this e-mail subscribed. */
  readonly alarmTopicArn?: string;
  readonly alarmEmail?: string;
}

function context(app: App, name: string): string | undefined {
  const value: unknown = app.node.tryGetContext(name);
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

const list = (value: string | undefined) =>
  value?.split(',').map((o) => o.trim()).filter((o) => o !== '');

/** Stack properties from `-c name=value` context (or cdk.json / cdk.context.json). */
export function stackPropsFromContext(app: App): RandapiStackProps {
  const get = (name: string) => context(app, name);
  const parse = <T>(name: string, f: (v: string) => T): T | undefined => {
    const v = get(name);
    return v === undefined ? undefined : f(v);
  };
  const account = get('account') ?? process.env.CDK_DEFAULT_ACCOUNT;
  const region = get('region') ?? process.env.CDK_DEFAULT_REGION;
  const domainPrefix = get('cognitoDomainPrefix');
  const callbackUrls = list(get('callbackUrls'));
  if ((domainPrefix === undefined) !== (callbackUrls === undefined)) {
    throw new Error('context cognitoDomainPrefix and callbackUrls go together: give both or neither');
  }
  return {
    env: account || region ? { account, region } : undefined,
    vpcId: get('vpcId'),
    publicSubnets: parse('publicSubnets', (v) => settings.booleanText('publicSubnets', v)),
    userPoolId: get('userPoolId'),
    clientId: get('clientId'),
    oauth: domainPrefix && callbackUrls ? { domainPrefix, callbackUrls, logoutUrls: list(get('logoutUrls')) } : undefined,
    minTasks: parse('minTasks', (v) => settings.wholeNumber('minTasks', v, 1, 100)),
    maxTasks: parse('maxTasks', (v) => settings.wholeNumber('maxTasks', v, 1, 100)),
    cpu: parse('cpu', (v) => settings.wholeNumber('cpu', v, 1, 1_000_000)),
    memoryMiB: parse('memoryMiB', (v) => settings.wholeNumber('memoryMiB', v, 1, 10_000_000)),
    logRetention: parse('logRetentionDays', settings.logRetentionDays),
    architecture: parse('architecture', settings.architecture),
    imageBuild: parse('imageBuild', settings.imageBuild),
    imageUri: get('imageUri'),
    corsAllowOrigins: list(get('corsAllowOrigins')),
    corsAllowHeaders: parse('corsAllowHeaders', settings.corsAllowHeaders),
    requiredScopes: parse('requiredScopes', settings.requiredScopes),
    alarmTopicArn: get('alarmTopicArn'),
    alarmEmail: get('alarmEmail'),
  };
}

export class RandapiStack extends Stack {
  public readonly randapi: RandapiService;

  constructor(scope: Construct, id: string, props: RandapiStackProps = {}) {
    super(scope, id, props);
    if ((props.userPoolId === undefined) !== (props.clientId === undefined)) {
      throw new Error('context userPoolId and clientId go together: give both or neither');
    }
    const userPool = props.userPoolId ? cognito.UserPool.fromUserPoolId(this, 'UserPool', props.userPoolId) : undefined;
    const userPoolClient = props.clientId
      ? cognito.UserPoolClient.fromUserPoolClientId(this, 'UserPoolClient', props.clientId)
      : undefined;
    const vpc = props.vpcId ? ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: props.vpcId }) : undefined;
    if (props.publicSubnets !== undefined && vpc === undefined) {
      throw new Error('context publicSubnets applies to an existing VPC (vpcId); the new VPC has public subnets only');
    }

    let alarmTopic: sns.ITopic | undefined;
    if (props.alarmTopicArn) {
      alarmTopic = sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
    } else if (props.alarmEmail) {
      const topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'randapi alarms', enforceSSL: true });
      topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      alarmTopic = topic;
    }

    this.randapi = new RandapiService(this, 'Randapi', {
      vpc,
      publicSubnets: props.publicSubnets,
      userPool,
      userPoolClient,
      oauth: props.oauth,
      minTasks: props.minTasks,
      maxTasks: props.maxTasks,
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      logRetention: props.logRetention,
      architecture: props.architecture,
      imageBuild: props.imageBuild,
      imageUri: props.imageUri,
      corsAllowOrigins: props.corsAllowOrigins,
      corsAllowHeaders: props.corsAllowHeaders,
      requiredScopes: props.requiredScopes,
      alarmTopic,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.randapi.apiUrl, description: 'Base URL of the API (GET / with a token)' });
    new CfnOutput(this, 'UserPoolId', { value: this.randapi.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.randapi.userPoolClient.userPoolClientId });
    new CfnOutput(this, 'Region', { value: this.region });
    new CfnOutput(this, 'Dashboard', {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards/dashboard/${this.randapi.monitoring.dashboard.dashboardName}`,
      description: 'The CloudWatch dashboard',
    });
  }
}
