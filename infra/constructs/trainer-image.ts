// The trainer image as a Docker image asset built from trainer-image/Dockerfile with the repository root as
// context. The context is narrowed by trainer-image/Dockerfile.dockerignore (an allowlist), which both
// BuildKit and CDK's fingerprinting read, so synth stays fast and never needs Docker.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IgnoreMode } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';

export const TRAINER_DOCKERFILE = 'trainer-image/Dockerfile';

/** The patterns of trainer-image/Dockerfile.dockerignore (comments and blank lines dropped). */
export function trainerImageExcludes(projectRoot: string): string[] {
  return readFileSync(join(projectRoot, `${TRAINER_DOCKERFILE}.dockerignore`), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

/** The trainer container image (linux/amd64: the GPU instance types are x86_64). */
export function trainerImage(projectRoot: string): ecs.ContainerImage {
  return ecs.ContainerImage.fromAsset(projectRoot, {
    file: TRAINER_DOCKERFILE,
    exclude: trainerImageExcludes(projectRoot),
    ignoreMode: IgnoreMode.DOCKER,
    platform: ecrAssets.Platform.LINUX_AMD64,
  });
}
