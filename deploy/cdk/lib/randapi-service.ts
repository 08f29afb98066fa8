// randapi on AWS: a Fargate service built from the repository's Dockerfile, reached through an
// API Gateway HTTP API (VPC link + Cloud Map) that checks Cognito access tokens with a JWT
// authorizer, plus the settings Amplify Gen1 hides (deployment safety, scaling, logs, alarms).
//
// One construct, two entry points: bin/randapi.ts (plain CDK) and
// ../../amplify-gen2/amplify/backend.ts (Amplify Gen2, which passes its own user pool and client).
import * as fs from 'fs';
import * as path from 'path';

import { Duration, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpServiceDiscoveryIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** The port randapi listens on (the Dockerfile's `EXPOSE` and `PORT`). */
export const CONTAINER_PORT = 3001;

/** The metrics randapi writes as CloudWatch Embedded Metric Format. */
export const METRIC_NAMESPACE = 'randapi';
export const METRIC_DIMENSIONS = { Service: 'randapi' } as const;

/**
 * randapi's shutdown on SIGTERM: it keeps serving for SHUTDOWN_DELAY (so the gateway stops sending
 * it new requests after Cloud Map drops the task), then stops accepting and gives requests in
 * flight SHUTDOWN_GRACE. ECS's stopTimeout must cover both, or SIGKILL cuts requests short.
 */
export const SHUTDOWN_DELAY = Duration.seconds(5);
export const SHUTDOWN_GRACE = Duration.seconds(20);
export const STOP_TIMEOUT = Duration.seconds(30);

export interface RandapiServiceProps {
  /** The network. Default: a new VPC with 2 AZs, public subnets only, no NAT gateway. */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the tasks and the VPC link. Default: the public subnets of a new VPC, or the
   * private ones (with egress) of a given VPC.
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Give tasks a public IP. They need a route to `cognito-idp.<region>.amazonaws.com` (the JWKS)
   * and to ECR: a public IP in a public subnet, or a NAT gateway / VPC endpoints.
   * Default: true for a new VPC, false for a given one.
   */
  readonly assignPublicIp?: boolean;
  /** The user pool whose access tokens are accepted. Default: a new pool. */
  readonly userPool?: cognito.IUserPool;
  /** The app client whose access tokens are accepted. Required with `userPool`. */
  readonly userPoolClient?: cognito.IUserPoolClient;
  /** The image. Default: built from the repository's Dockerfile (`ContainerImage.fromAsset`). */
  readonly image?: ecs.ContainerImage;
  /** Fargate task size. Default: 256 CPU units, 512 MiB (randapi needs a few MiB). */
  readonly cpu?: number;
  readonly memoryLimitMiB?: number;
  /** Application Auto Scaling bounds. Default: 1 to 4 tasks. */
  readonly minTasks?: number;
  readonly maxTasks?: number;
  /** CPU target tracking. Default: 60 %. */
  readonly cpuTargetPercent?: number;
  /** Browser origins allowed by the gateway's CORS. Default: `*`. */
  readonly corsAllowOrigins?: string[];
  /** Log retention. Default: one month. */
  readonly logRetention?: logs.RetentionDays;
  /** Cloud Map private DNS namespace name. Default: `randapi.internal`. */
  readonly namespaceName?: string;
  /** Where alarms notify. Default: nowhere (they still show in the console). */
  readonly alarmTopic?: sns.ITopic;
}

/** The repository root: the first folder above this file that holds the Dockerfile and the crate. */
export function repositoryRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'Dockerfile')) && fs.existsSync(path.join(dir, 'Cargo.toml'))) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`no folder above ${from} holds both Dockerfile and Cargo.toml`);
    }
    dir = parent;
  }
}

export class RandapiService extends Construct {
  public readonly vpc: ec2.IVpc;
  public readonly cluster: ecs.Cluster;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly service: ecs.FargateService;
  public readonly logGroup: logs.LogGroup;
  public readonly userPool: cognito.IUserPool;
  public readonly userPoolClient: cognito.IUserPoolClient;
  public readonly api: apigwv2.HttpApi;
  public readonly jwksFetchFailuresAlarm: cloudwatch.Alarm;
  public readonly unavailableRateAlarm: cloudwatch.Alarm;

  /** The API's base URL (ends with `/`). */
  public get apiUrl(): string {
    return this.api.apiEndpoint + '/';
  }

  constructor(scope: Construct, id: string, props: RandapiServiceProps = {}) {
    super(scope, id);
    const region = Stack.of(this).region;

    // ----- Cognito: the caller's pool and web client, or new ones.
    if ((props.userPool === undefined) !== (props.userPoolClient === undefined)) {
      throw new Error('RandapiService: give both userPool and userPoolClient, or neither');
    }
    if (props.userPool && props.userPoolClient) {
      this.userPool = props.userPool;
      this.userPoolClient = props.userPoolClient;
    } else {
      const pool = new cognito.UserPool(this, 'UserPool', {
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        passwordPolicy: { minLength: 12 },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      });
      this.userPool = pool;
      // A public (browser) client: no secret; SRP for Amplify JS, USER_PASSWORD_AUTH for
      // `randapi token` and the AWS CLI. CDK adds ALLOW_REFRESH_TOKEN_AUTH.
      this.userPoolClient = pool.addClient('WebClient', {
        generateSecret: false,
        authFlows: { userSrp: true, userPassword: true },
        preventUserExistenceErrors: true,
      });
    }

    // ----- Network.
    const newVpc = props.vpc === undefined;
    this.vpc =
      props.vpc ??
      new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      });
    const vpcSubnets =
      props.vpcSubnets ?? { subnetType: newVpc ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS };
    const assignPublicIp = props.assignPublicIp ?? newVpc;

    const linkSecurityGroup = new ec2.SecurityGroup(this, 'VpcLinkSecurityGroup', {
      vpc: this.vpc,
      description: 'randapi: API Gateway VPC link',
      allowAllOutbound: false,
    });
    const serviceSecurityGroup = new ec2.SecurityGroup(this, 'ServiceSecurityGroup', {
      vpc: this.vpc,
      description: 'randapi: Fargate tasks, reachable only from the VPC link',
      // Out: HTTPS to the Cognito JWKS and ECR.
      allowAllOutbound: true,
    });
    serviceSecurityGroup.addIngressRule(linkSecurityGroup, ec2.Port.tcp(CONTAINER_PORT), 'from the VPC link');
    linkSecurityGroup.addEgressRule(serviceSecurityGroup, ec2.Port.tcp(CONTAINER_PORT), 'to the tasks');

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc });
    const namespace = new servicediscovery.PrivateDnsNamespace(this, 'Namespace', {
      vpc: this.vpc,
      name: props.namespaceName ?? 'randapi.internal',
      description: 'randapi: tasks found by API Gateway',
    });

    // ----- The task.
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 256,
      memoryLimitMiB: props.memoryLimitMiB ?? 512,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const origins = props.corsAllowOrigins ?? ['*'];
    this.container = this.taskDefinition.addContainer('api', {
      containerName: 'api',
      image:
        props.image ??
        ecs.ContainerImage.fromAsset(repositoryRoot(), {
          // The Dockerfile builds x86_64-unknown-linux-musl.
          platform: Platform.LINUX_AMD64,
          target: 'runtime',
        }),
      essential: true,
      portMappings: [{ containerPort: CONTAINER_PORT, protocol: ecs.Protocol.TCP, name: 'http' }],
      environment: {
        PORT: String(CONTAINER_PORT),
        COGNITO_USER_POOL_ID: this.userPool.userPoolId,
        COGNITO_CLIENT_IDS: this.userPoolClient.userPoolClientId,
        CORS_ALLOWED_ORIGINS: origins.join(','),
        LOG_FORMAT: 'json',
        RUST_LOG: 'info',
        SHUTDOWN_DELAY: `${SHUTDOWN_DELAY.toSeconds()}s`,
        SHUTDOWN_GRACE: `${SHUTDOWN_GRACE.toSeconds()}s`,
      },
      // The image is FROM scratch with no shell: exec form.
      healthCheck: {
        command: ['CMD', '/randapi', 'healthcheck'],
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(10),
      },
      stopTimeout: STOP_TIMEOUT,
      readonlyRootFilesystem: true,
      user: '10001:10001',
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'randapi' }),
    });

    // ----- The service: a new task must be HEALTHY before an old one stops (100 % / 200 %), and
    // a deployment whose tasks never get healthy rolls back by itself.
    const minTasks = props.minTasks ?? 1;
    const maxTasks = props.maxTasks ?? 4;
    if (!(Number.isInteger(minTasks) && minTasks >= 1 && Number.isInteger(maxTasks) && maxTasks >= minTasks)) {
      throw new Error(`RandapiService: need 1 <= minTasks <= maxTasks (integers), got ${minTasks}..${maxTasks}`);
    }
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: minTasks,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      assignPublicIp,
      vpcSubnets,
      securityGroups: [serviceSecurityGroup],
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      // API Gateway's Cloud Map integration needs SRV records (address and port).
      cloudMapOptions: {
        cloudMapNamespace: namespace,
        name: 'api',
        dnsRecordType: servicediscovery.DnsRecordType.SRV,
        dnsTtl: Duration.seconds(10),
        container: this.container,
        containerPort: CONTAINER_PORT,
      },
    });

    const scaling = this.service.autoScaleTaskCount({ minCapacity: minTasks, maxCapacity: maxTasks });
    scaling.scaleOnCpuUtilization('CpuTarget', {
      targetUtilizationPercent: props.cpuTargetPercent ?? 60,
      scaleOutCooldown: Duration.minutes(1),
      scaleInCooldown: Duration.minutes(5),
    });

    // ----- The HTTP API.
    const cloudMapService = this.service.cloudMapService;
    if (cloudMapService === undefined) {
      throw new Error('RandapiService: the service has no Cloud Map service');
    }
    const vpcLink = new apigwv2.VpcLink(this, 'VpcLink', {
      vpc: this.vpc,
      subnets: vpcSubnets,
      securityGroups: [linkSecurityGroup],
    });
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-randapi`,
      description: 'randapi: GET / returns a random number to a Cognito access token',
      // No $default route: only the GET routes below exist, so a preflight (OPTIONS) matches no
      // route and the gateway answers it from this configuration, before any authorizer.
      corsPreflight: {
        allowOrigins: origins,
        allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.OPTIONS],
        // By name: the Fetch standard does not let `*` cover `authorization`.
        allowHeaders: ['authorization', 'content-type'],
        exposeHeaders: ['www-authenticate', 'retry-after'],
        maxAge: Duration.minutes(10),
      },
    });
    const integration = new HttpServiceDiscoveryIntegration('Service', cloudMapService, { vpcLink });
    // Issuer: https://cognito-idp.<region>.amazonaws.com/<pool id>; audience: the app client.
    // The gateway accepts ID tokens too (their `aud` is the client); randapi then refuses them.
    const authorizer = new HttpUserPoolAuthorizer('Cognito', this.userPool, {
      userPoolClients: [this.userPoolClient],
      userPoolRegion: region,
    });
    this.api.addRoutes({ path: '/', methods: [apigwv2.HttpMethod.GET], integration, authorizer });
    this.api.addRoutes({ path: '/{proxy+}', methods: [apigwv2.HttpMethod.GET], integration, authorizer });

    // ----- Alarms on the metrics randapi writes (Embedded Metric Format, 5-minute sums).
    const metric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: { ...METRIC_DIMENSIONS },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      });
    // One failed fetch is normal noise (a retry follows); failures in 2 of 3 consecutive 5-minute
    // periods mean the keys cannot be refreshed and 503s will follow once the cache is stale.
    this.jwksFetchFailuresAlarm = new cloudwatch.Alarm(this, 'JwksFetchFailuresAlarm', {
      alarmDescription: 'randapi cannot fetch the Cognito JWKS (failures in 2 of 3 consecutive 5-minute periods)',
      metric: metric('JwksFetchFailures'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // More than 5 % of requests answered 503 over 5 minutes, counted only from 20 requests up so
    // that one failed call on an idle API does not page anyone.
    this.unavailableRateAlarm = new cloudwatch.Alarm(this, 'Unavailable503RateAlarm', {
      alarmDescription: 'randapi answered 503 to more than 5 % of at least 20 requests in 5 minutes',
      metric: new cloudwatch.MathExpression({
        expression: 'IF(requests >= 20, 100 * unavailable / requests, 0)',
        usingMetrics: { requests: metric('Requests'), unavailable: metric('Responses503') },
        period: Duration.minutes(5),
        label: '503 responses (% of requests)',
      }),
      threshold: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      for (const alarm of [this.jwksFetchFailuresAlarm, this.unavailableRateAlarm]) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }
}
