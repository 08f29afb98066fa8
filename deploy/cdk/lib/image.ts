// Where randapi's container image comes from. Three ways, chosen by the construct's props (and the
// app's `-c imageBuild=...` / `-c imageUri=...` context):
//   codebuild (default)  the repository's Dockerfile, built in AWS at deploy time by
//                        @cdklabs/deploy-time-build (CodeBuild; an ARM build image for arm64), so
//                        neither `cdk deploy` nor an Amplify Gen2 branch build needs Docker;
//   local                ContainerImage.fromAsset: built by the local engine (Docker, Finch,
//                        Podman through CDK_DOCKER) and pushed to the bootstrap repository;
//   imageUri             an image already in a registry; nothing is built.
import * as fs from 'fs';
import * as path from 'path';

import { ContainerImageBuild } from '@cdklabs/deploy-time-build';
import { IgnoreMode, Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Construct } from 'constructs';

import { Architecture, ImageBuild } from './settings';

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

export const platformOf = (architecture: Architecture): Platform =>
  architecture === 'arm64' ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64;

/**
 * The build context deploy-time-build uploads: what .dockerignore lets through, plus the
 * Dockerfile. (`docker build` always reads the Dockerfile, whatever .dockerignore says; the
 * uploaded zip only holds what the exclusions let through, so the Dockerfile is named here.)
 */
export function sourceExclusions(root: string): string[] {
  const lines = fs
    .readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  return [...lines, '!Dockerfile'];
}

export interface ImageProps {
  readonly architecture: Architecture;
  readonly imageBuild: ImageBuild;
  /** An image in a registry (e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/randapi:1.2.0`). */
  readonly imageUri?: string;
}

/** The container image for the task, and the construct that builds it (if any). */
export function containerImage(scope: Construct, props: ImageProps): { image: ecs.ContainerImage; build?: ContainerImageBuild } {
  if (props.imageUri !== undefined) {
    return { image: registryImage(scope, props.imageUri) };
  }
  const root = repositoryRoot();
  const platform = platformOf(props.architecture);
  if (props.imageBuild === 'local') {
    return { image: ecs.ContainerImage.fromAsset(root, { platform, target: 'runtime' }) };
  }
  const build = new ContainerImageBuild(scope, 'ImageBuild', {
    directory: root,
    platform,
    target: 'runtime',
    exclude: sourceExclusions(root),
    ignoreMode: IgnoreMode.DOCKER,
  });
  return { image: build.toEcsDockerImageCode(), build };
}

/** A private ECR image: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<name>[:tag|@sha256:...]`. */
const ECR_URI = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9][a-z0-9._\/-]*)(?::([\w][\w.-]{0,127})|@(sha256:[0-9a-f]{64}))?$/;

/**
 * An image already in a registry. A private ECR image goes through the repository, so the task's
 * execution role is granted the pull (ecr:BatchGetImage and friends on that repository); any other
 * registry must be public (ECR Public, ...), since the task has no registry credentials.
 */
export function registryImage(scope: Construct, uri: string): ecs.ContainerImage {
  if (/\s/.test(uri) || uri === '') throw new Error(`imageUri: not an image reference: ${JSON.stringify(uri)}`);
  const m = ECR_URI.exec(uri);
  if (m === null) return ecs.ContainerImage.fromRegistry(uri);
  const [, account, region, name, tag, digest] = m;
  const partition = region.startsWith('cn-') ? 'aws-cn' : Stack.of(scope).partition;
  const repository = ecr.Repository.fromRepositoryArn(scope, 'ImageRepository', `arn:${partition}:ecr:${region}:${account}:repository/${name}`);
  return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag ?? 'latest');
}
