import type { ExecutorContext } from '@nx/devkit';
import { buildContainerTarget } from '@hook/containers';
import { runStep } from '../run';

import type { ContainerBuildSchema } from './schema';

/** Reuses, pulls or builds one image for one arch into dist/images/<name>/<arch>. */
export default async function containerBuildExecutor(options: ContainerBuildSchema, context: ExecutorContext) {
  return runStep(() => buildContainerTarget({ workspaceRoot: context.root, imageName: options.image, arch: options.arch, env: process.env }), context.root);
}
