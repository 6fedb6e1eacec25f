import type { ExecutorContext } from '@nx/devkit';
import { buildContainerTarget } from '@hook/containers';
import { runStep } from '../run';

export interface ContainerBuildSchema {
  image: string;
  arch: 'amd64' | 'arm64';
}

/** Reuses, pulls or builds one image for one arch into dist/images/<name>/<arch>. */
export default async function containerBuildExecutor(options: ContainerBuildSchema, context: ExecutorContext) {
  return runStep(() => buildContainerTarget({ workspaceRoot: context.root, imageName: options.image, arch: options.arch, env: process.env }));
}
