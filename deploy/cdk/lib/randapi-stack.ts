// A thin stack around RandapiService: reads context, wires existing resources, adds outputs.
import { App, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

import { RandapiService } from './randapi-service';

export interface RandapiStackProps extends StackProps {
  /** An existing VPC (looked up once with AWS credentials; cached in cdk.context.json). */
  readonly vpcId?: string;
  /** An existing user pool and app client (both or neither). */
  readonly userPoolId?: string;
  readonly clientId?: string;
  readonly maxTasks?: number;
  readonly corsAllowOrigins?: string[];
  /** Alarms notify an existing SNS topic, or a new one with this e-mail subscribed. */
  readonly alarmTopicArn?: string;
  readonly alarmEmail?: string;
  /** Instead of building the Dockerfile: an image already in a registry. */
  readonly image?: ecs.ContainerImage;
}

function context(app: App, name: string): string | undefined {
  const value: unknown = app.node.tryGetContext(name);
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

/** Stack properties from `-c name=value` context (or cdk.json / cdk.context.json). */
export function stackPropsFromContext(app: App): RandapiStackProps {
  const account = context(app, 'account') ?? process.env.CDK_DEFAULT_ACCOUNT;
  const region = context(app, 'region') ?? process.env.CDK_DEFAULT_REGION;
  const maxTasks = context(app, 'maxTasks');
  const origins = context(app, 'corsAllowOrigins');
  const parsedMax = maxTasks === undefined ? undefined : Number(maxTasks);
  if (parsedMax !== undefined && !(Number.isInteger(parsedMax) && parsedMax >= 1)) {
    throw new Error(`context maxTasks: a whole number >= 1, got ${JSON.stringify(maxTasks)}`);
  }
  return {
    env: account || region ? { account, region } : undefined,
    vpcId: context(app, 'vpcId'),
    userPoolId: context(app, 'userPoolId'),
    clientId: context(app, 'clientId'),
    maxTasks: parsedMax,
    corsAllowOrigins: origins?.split(',').map((o) => o.trim()).filter((o) => o !== ''),
    alarmTopicArn: context(app, 'alarmTopicArn'),
    alarmEmail: context(app, 'alarmEmail'),
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

    let alarmTopic: sns.ITopic | undefined;
    if (props.alarmTopicArn) {
      alarmTopic = sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
    } else if (props.alarmEmail) {
      const topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'randapi alarms' });
      topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      alarmTopic = topic;
    }

    this.randapi = new RandapiService(this, 'Randapi', {
      vpc,
      userPool,
      userPoolClient,
      maxTasks: props.maxTasks,
      corsAllowOrigins: props.corsAllowOrigins,
      alarmTopic,
      image: props.image,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.randapi.apiUrl, description: 'Base URL of the API (GET / with a token)' });
    new CfnOutput(this, 'UserPoolId', { value: this.randapi.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.randapi.userPoolClient.userPoolClientId });
    new CfnOutput(this, 'Region', { value: this.region });
  }
}
