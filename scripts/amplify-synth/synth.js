// Synthesizes the CloudFormation stack and the buildspec that `amplify push` generates for the
// container API `randapi`, with Amplify's own code (@aws-amplify/amplify-category-api, the same
// functions `generateContainersArtifacts` calls at push time), from this repository's
// amplify/backend/backend-config.json, docker-compose.yml and Dockerfile.
//
//   node synth.js <extracted category-api package> <repository> <output folder>
//
// Writes <output>/randapi-cloudformation-template.json and <output>/buildspec.yml.
// The inputs that only exist after `amplify init` are fixed: the root stack name
// (amplify-randapi-dev-00000, used in resource names only), a first deploy (isInitialDeploy), no
// existing ECR repository and no compose secrets.
'use strict';
const fs = require('fs');
const path = require('path');

const [pkg, repo, out] = process.argv.slice(2);
if (!pkg || !repo || !out) {
  console.error('usage: node synth.js <category-api package> <repository> <output folder>');
  process.exit(2);
}
const lib = path.join(pkg, 'lib/provider-utils/awscloudformation');
const { getContainers } = require(path.join(lib, 'docker-compose'));
const { EcsStack } = require(path.join(lib, 'ecs-apigw-stack'));

const read = (file) => fs.readFileSync(path.join(repo, file), 'utf8');
const api = JSON.parse(read('amplify/backend/backend-config.json')).api.randapi;
const { buildspec, containers, service } = getContainers(read('docker-compose.yml'), read('Dockerfile'));

// As processDockerConfig: the ports of all containers; exactly one exposed container here.
const taskPorts = containers.reduce((acc, c) => acc.concat(c.portMappings.map((p) => p.containerPort)), []);
const exposed = containers.filter((c) => c.portMappings.length > 0);
if (taskPorts.length !== 1 || exposed.length !== 1) {
  console.error(`expected one container with one port, got ports ${JSON.stringify(taskPorts)}`);
  process.exit(1);
}

const stack = new EcsStack(undefined, 'ContainersStack', {
  categoryName: 'api',
  apiName: 'randapi',
  taskPorts,
  dependsOn: api.dependsOn,
  policies: api.categoryPolicies || [],
  taskEnvironmentVariables: api.environmentMap,
  gitHubSourceActionInfo: api.gitHubInfo,
  deploymentMechanism: api.deploymentMechanism,
  containers,
  isInitialDeploy: true,
  desiredCount: (service && service.replicas) || 1,
  restrictAccess: api.restrictAccess,
  currentStackName: 'amplify-randapi-dev-00000',
  apiType: api.apiType,
  exposedContainer: { name: exposed[0].name, port: exposed[0].portMappings[0].containerPort },
  secretsArns: new Map(),
  existingEcrRepositories: new Set(),
});

fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'randapi-cloudformation-template.json'), `${JSON.stringify(stack.toCloudFormation(), null, 2)}\n`);
fs.writeFileSync(path.join(out, 'buildspec.yml'), buildspec);
