// cdk-nag (AwsSolutions pack) findings on randapi's resources that are accepted, each with its
// reason. Everything else the pack reports fails `cdk synth` (bin/randapi.ts) and the tests.
//
// cdk-nag 3 acknowledges each finding by its exact id: a rule, plus for IAM4/IAM5 the policy or
// the wildcard it found (`AwsSolutions-IAM5[Resource::*]`). Ids that name a resource carry its
// logical id and the stack's region and partition as cdk-nag prints them, so they are built here
// from the same values rather than copied.
import { IPolicyValidationPlugin, PolicyValidationPluginReport, Stack, Token, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';

/**
 * cdk-nag's AwsSolutions pack over one stack, as a synth-time validation: register it on the App
 * (`Validations.of(app).addPlugins(new RandapiNagChecks(stack))`) and any finding not acknowledged
 * below fails the synth. Amplify Gen2 uses it for the randapi stack alone: Amplify's own auth stack
 * is not ours to acknowledge.
 */
export class RandapiNagChecks implements IPolicyValidationPlugin {
  public readonly name = 'cdk-nag AwsSolutions (randapi stack)';
  constructor(private readonly scope: IConstruct) {}
  public validate(): PolicyValidationPluginReport {
    return new AwsSolutionsChecks().validateScope(this.scope);
  }
}

type Ack = [id: string, reason: string];

function acknowledge(scope: IConstruct | undefined, acks: Ack[]) {
  if (scope === undefined) return;
  for (const [id, reason] of acks) Validations.of(scope).acknowledge({ id, reason });
}

/** How cdk-nag prints a value that may be a token: the value, or `<AWS::Pseudo>`. */
function shown(value: string, pseudo: string): string {
  return Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value;
}

export interface NagScopes {
  readonly userPool?: IConstruct;
  readonly vpc?: IConstruct;
  readonly taskDefinition: IConstruct;
  readonly executionRole?: IConstruct;
}

export function acknowledgeNagFindings(stack: Stack, scopes: NagScopes): void {
  acknowledge(scopes.userPool, [
    [
      'AwsSolutions-COG2',
      'MFA is the pool owner\'s choice: the API serves machine clients and people alike; turn it on with the pool\'s mfa setting.',
    ],
    [
      'AwsSolutions-COG8',
      'The Plus feature plan (threat protection) is billed per monthly active user; the API does not need it to check tokens.',
    ],
  ]);
  acknowledge(scopes.vpc, [
    [
      'AwsSolutions-VPC7',
      'The new VPC holds only these tasks, and the gateway access log records every request; ' +
        'a team that needs VPC flow logs deploys into its own VPC (context vpcId) where they run.',
    ],
  ]);
  acknowledge(scopes.taskDefinition, [
    [
      'AwsSolutions-ECS2',
      'The environment holds no secret: the pool and client ids (public in every token), CORS origins, and timings.',
    ],
  ]);
  acknowledge(scopes.executionRole, [
    [
      'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken, which the execution role needs to pull the image, has no resource-level permission.',
    ],
  ]);

  // @cdklabs/deploy-time-build adds one CodeBuild project and one custom-resource Lambda per
  // stack, as children of the stack itself.
  const region = shown(stack.region, 'Region');
  const partition = shown(stack.partition, 'Partition');
  for (const child of stack.node.children) {
    if (child.node.id.startsWith('ContainerImageBuild')) {
      const project = child.node.defaultChild;
      const projectId = project ? stack.getLogicalId(project as never) : '';
      acknowledge(child, [
        [
          'AwsSolutions-CB4',
          'The build keeps no artifact (the image goes to ECR); its logs and cache use the AWS-managed keys.',
        ],
        [
          `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly]`,
          'Read-only pulls of the Dockerfile\'s ECR Public base images (deploy-time-build).',
        ],
        ...(
          [
            ['Resource::*', 'ecr:GetAuthorizationToken and ecr-public:GetAuthorizationToken have no resource-level permission.'],
            [`Resource::arn:${partition}:logs:${region}:<AWS::AccountId>:log-group:/aws/codebuild/<${projectId}>:*`, 'The build\'s own log streams (CodeBuild default policy).'],
            [`Resource::arn:${partition}:codebuild:${region}:<AWS::AccountId>:report-group/<${projectId}>-*`, 'The build\'s own report groups (CodeBuild default policy).'],
            ['Action::s3:GetBucket*', 'Read access to the CDK assets bucket that holds the uploaded build context.'],
            ['Action::s3:GetObject*', 'Read access to the uploaded build context.'],
            ['Action::s3:List*', 'Read access to the uploaded build context.'],
            [`Resource::arn:${partition}:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-${region}/*`, 'The objects of the CDK assets bucket (the build context zip).'],
          ] as const
        ).map(([finding, reason]): Ack => [`AwsSolutions-IAM5[${finding}]`, reason]),
      ]);
    } else if (child.node.id.startsWith('DeployTimeBuildCustomResourceHandler')) {
      acknowledge(child, [
        [
          'AwsSolutions-L1',
          'deploy-time-build pins nodejs22.x for its trigger Lambda; the tests require nodejs22.x or later for every Lambda.',
        ],
        [
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          'Log writing for the trigger Lambda (CDK default for Lambda functions).',
        ],
      ]);
    }
  }
}
