// randapi on AWS: a Fargate service built from the repository's Dockerfile, reached through an
// API Gateway HTTP API (VPC link + Cloud Map) that checks Cognito access tokens with a JWT
// authorizer, plus the settings Amplify Gen1 hides (deployment safety, scaling, logs, alarms).
//
// One construct, two entry points: bin/randapi.ts (plain CDK) and
// ../../amplify-gen2/amplify/backend.ts (Amplify Gen2, which passes its own user pool and client).
import { Duration, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpServiceDiscoveryIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

import { containerImage } from './image';
import { Monitoring } from './monitoring';
import { acknowledgeNagFindings } from './nag';
import * as settings from './settings';

export { repositoryRoot } from './image';
export { METRIC_DIMENSIONS, METRIC_NAMESPACE } from './monitoring';

/** The port randapi listens on (the Dockerfile's `EXPOSE` and `PORT`). */
export const CONTAINER_PORT = 3001;

/**
 * randapi's shutdown on SIGTERM: it keeps serving for SHUTDOWN_DELAY (so the gateway stops sending
 * it new requests after Cloud Map drops the task), then stops accepting and gives requests in
 * flight SHUTDOWN_GRACE. ECS's stopTimeout must cover both, or SIGKILL cuts requests short.
 */
export const SHUTDOWN_DELAY = Duration.seconds(5);
export const SHUTDOWN_GRACE = Duration.seconds(20);
export const STOP_TIMEOUT = Duration.seconds(30);

/** The JSON access log of the gateway's stage: one object per request. */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  sourceIp: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  error: '$context.error.message',
} as const;

/** A Cognito hosted domain and the OAuth settings of the web client. */
export interface OAuthDomainProps {
  /** The prefix of `https://<prefix>.auth.<region>.amazoncognito.com`. */
  readonly domainPrefix: string;
  /** Where Cognito may send the authorization code (your app's sign-in callback). */
  readonly callbackUrls: string[];
  readonly logoutUrls?: string[];
}

export interface RandapiServiceProps {
  /** The network. Default: a new VPC with 2 AZs, public subnets only, no NAT gateway. */
  readonly vpc?: ec2.IVpc;
  /**
   * Put the tasks and the VPC link in the VPC's public subnets, with a public IP for each task
   * (its way to the Cognito JWKS and to ECR). Default: true for a new VPC; for a given VPC, true
   * when it has no private subnets (an account's default VPC), else false (private subnets with
   * egress: a NAT gateway or VPC endpoints must give the tasks that way out).
   */
  readonly publicSubnets?: boolean;
  /** The user pool whose access tokens are accepted. Default: a new pool. */
  readonly userPool?: cognito.IUserPool;
  /** The app client whose access tokens are accepted. Required with `userPool`. */
  readonly userPoolClient?: cognito.IUserPoolClient;
  /**
   * A hosted domain and OAuth (authorization code) flows for the new pool's web client.
   * Default: none, and the client has no OAuth flow at all (CDK would otherwise enable the
   * implicit and code flows with callback https://example.com).
   */
  readonly oauth?: OAuthDomainProps;
  /** The image. Default: built from the repository's Dockerfile as `imageBuild` says. */
  readonly image?: ecs.ContainerImage;
  /** An image already in a registry: no build at all. */
  readonly imageUri?: string;
  /** How the Dockerfile is built. Default: `codebuild` (in AWS, at deploy time; no local engine). */
  readonly imageBuild?: settings.ImageBuild;
  /** The tasks' CPU architecture, and the image built for it. Default: x86_64. */
  readonly architecture?: settings.Architecture;
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
  /**
   * Request headers allowed across origins besides `authorization` and `content-type` (e.g.
   * `traceparent`), for the gateway and for randapi (CORS_ALLOWED_HEADERS). Default: none.
   */
  readonly corsAllowHeaders?: string[];
  /**
   * OAuth scopes the gateway requires on every route (any one of them), so that it refuses ID
   * tokens and tokens without the scope itself; randapi gets the same list
   * (COGNITO_REQUIRED_SCOPES). Default: none.
   */
  readonly requiredScopes?: string[];
  /** Retention of the task and access logs. Default: one month. */
  readonly logRetention?: logs.RetentionDays;
  /** Cloud Map private DNS namespace name. Default: `randapi.internal`. */
  readonly namespaceName?: string;
  /** Where alarms notify. Default: nowhere (they still show in the console). */
  readonly alarmTopic?: sns.ITopic;
}

export class RandapiService extends Construct {
  public readonly vpc: ec2.IVpc;
  public readonly cluster: ecs.Cluster;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly service: ecs.FargateService;
  public readonly logGroup: logs.LogGroup;
  public readonly accessLogGroup: logs.LogGroup;
  public readonly userPool: cognito.IUserPool;
  public readonly userPoolClient: cognito.IUserPoolClient;
  public readonly api: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly monitoring: Monitoring;

  /** The API's base URL (ends with `/`). */
  public get apiUrl(): string {
    return this.api.apiEndpoint + '/';
  }

  constructor(scope: Construct, id: string, props: RandapiServiceProps = {}) {
    super(scope, id);
    const region = Stack.of(this).region;

    // ----- Settings, checked before anything is built.
    const architecture = props.architecture ?? 'x86_64';
    settings.architecture(architecture);
    const { cpu, memoryMiB } = settings.fargateTaskSize(props.cpu ?? 256, props.memoryLimitMiB ?? 512);
    const minTasks = settings.wholeNumber('minTasks', props.minTasks ?? 1, 1, 100);
    const maxTasks = settings.wholeNumber('maxTasks', props.maxTasks ?? Math.max(4, minTasks), 1, 100);
    if (maxTasks < minTasks) {
      throw new Error(`RandapiService: need minTasks <= maxTasks, got ${minTasks} > ${maxTasks}`);
    }
    const logRetention = settings.logRetentionDays(props.logRetention ?? logs.RetentionDays.ONE_MONTH);
    const extraHeaders = settings.corsAllowHeaders(props.corsAllowHeaders ?? []);
    const scopes = settings.requiredScopes(props.requiredScopes ?? []);
    if (props.image !== undefined && props.imageUri !== undefined) {
      throw new Error('RandapiService: give image or imageUri, not both');
    }
    if (props.imageUri !== undefined && props.imageBuild !== undefined) {
      throw new Error('RandapiService: imageUri deploys a ready image; imageBuild does not apply to it');
    }

    // ----- Cognito: the caller's pool and web client, or new ones.
    if ((props.userPool === undefined) !== (props.userPoolClient === undefined)) {
      throw new Error('RandapiService: give both userPool and userPoolClient, or neither');
    }
    if (props.userPool && props.userPoolClient) {
      if (props.oauth) throw new Error('RandapiService: oauth configures the new pool; it does not apply to a given one');
      this.userPool = props.userPool;
      this.userPoolClient = props.userPoolClient;
    } else {
      const pool = new cognito.UserPool(this, 'UserPool', {
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      });
      this.userPool = pool;
      if (props.oauth) {
        pool.addDomain('Domain', { cognitoDomain: { domainPrefix: props.oauth.domainPrefix } });
      }
      // A public (browser) client: no secret; SRP for Amplify JS, USER_PASSWORD_AUTH for
      // `randapi token` and the AWS CLI. CDK adds ALLOW_REFRESH_TOKEN_AUTH. OAuth only with a
      // domain: CDK's defaults (implicit + code, callback https://example.com) would go live the
      // day someone adds a domain.
      this.userPoolClient = pool.addClient('WebClient', {
        generateSecret: false,
        authFlows: { userSrp: true, userPassword: true },
        preventUserExistenceErrors: true,
        ...(props.oauth
          ? {
              oAuth: {
                flows: { authorizationCodeGrant: true },
                scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callbackUrls: props.oauth.callbackUrls,
                logoutUrls: props.oauth.logoutUrls,
              },
            }
          : { disableOAuth: true }),
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
    // A VPC with public subnets only (an account's default VPC) has nowhere private to put them.
    const publicSubnets = props.publicSubnets ?? (newVpc || this.vpc.privateSubnets.length === 0);
    const vpcSubnets: ec2.SubnetSelection = {
      subnetType: publicSubnets ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS,
    };

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

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      // RunningTaskCount for the no-task alarm, and per-task CPU/memory.
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const namespace = new servicediscovery.PrivateDnsNamespace(this, 'Namespace', {
      vpc: this.vpc,
      name: props.namespaceName ?? 'randapi.internal',
      description: 'randapi: tasks found by API Gateway',
    });

    // ----- The task.
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logRetention });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu,
      memoryLimitMiB: memoryMiB,
      runtimePlatform: {
        cpuArchitecture: architecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const origins = props.corsAllowOrigins ?? ['*'];
    const image =
      props.image ??
      containerImage(this, { architecture, imageBuild: props.imageBuild ?? 'codebuild', imageUri: props.imageUri }).image;
    this.container = this.taskDefinition.addContainer('api', {
      containerName: 'api',
      image,
      essential: true,
      portMappings: [{ containerPort: CONTAINER_PORT, protocol: ecs.Protocol.TCP, name: 'http' }],
      environment: {
        PORT: String(CONTAINER_PORT),
        COGNITO_USER_POOL_ID: this.userPool.userPoolId,
        COGNITO_CLIENT_IDS: this.userPoolClient.userPoolClientId,
        CORS_ALLOWED_ORIGINS: origins.join(','),
        ...(extraHeaders.length ? { CORS_ALLOWED_HEADERS: extraHeaders.join(',') } : {}),
        ...(scopes.length ? { COGNITO_REQUIRED_SCOPES: scopes.join(' ') } : {}),
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
    //
    // No desiredCount: CloudFormation would apply it again on every update and undo the
    // autoscaling (a service scaled out to 4 drops to 1 during each deploy). Without it, ECS
    // creates the service with 1 task and keeps the current count on updates, and registering the
    // scalable target below raises the count into [minTasks, maxTasks] (Application Auto
    // Scaling's RegisterScalableTarget "changes the resource's current capacity to a value that
    // is inside of this range"). docs/deploy-with-cdk.md cites both.
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      assignPublicIp: publicSubnets,
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
      // The $default stage is made below, with its access log.
      createDefaultStage: false,
      // No $default route: only the GET routes below exist, so a preflight (OPTIONS) matches no
      // route and the gateway answers it from this configuration, before any authorizer.
      corsPreflight: {
        allowOrigins: origins,
        allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.OPTIONS],
        // By name: the Fetch standard does not let `*` cover `authorization`.
        allowHeaders: [...settings.BASE_CORS_HEADERS, ...extraHeaders],
        exposeHeaders: ['www-authenticate', 'retry-after'],
        maxAge: Duration.minutes(10),
      },
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    const integration = new HttpServiceDiscoveryIntegration('Service', cloudMapService, { vpcLink });
    // Issuer: https://cognito-idp.<region>.amazonaws.com/<pool id>; audience: the app client.
    // The gateway accepts ID tokens too (their `aud` is the client) unless the routes require a
    // scope: an ID token has no `scope` claim. randapi refuses ID tokens either way.
    const authorizer = new HttpUserPoolAuthorizer('Cognito', this.userPool, {
      userPoolClients: [this.userPoolClient],
      userPoolRegion: region,
    });
    const authorizationScopes = scopes.length ? scopes : undefined;
    for (const path of ['/', '/{proxy+}']) {
      this.api.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration, authorizer, authorizationScopes });
    }

    // ----- Alarms and the dashboard.
    this.monitoring = new Monitoring(this, 'Monitoring', {
      service: this.service,
      cluster: this.cluster,
      stage: this.stage,
      alarmTopic: props.alarmTopic,
    });

    acknowledgeNagFindings(Stack.of(this), {
      userPool: props.userPool ? undefined : this.userPool,
      vpc: newVpc ? this.vpc : undefined,
      taskDefinition: this.taskDefinition,
      executionRole: this.taskDefinition.executionRole,
    });
  }
}
