import type { ExecutorContext } from '@nx/devkit';
import { buildKernelTarget } from '@hook/kernel';
import { runStep } from '../run';
import type { KernelBuildSchema } from './schema';

/** Kernel from source (method default) or Debian's prebuilt package (method debian). */
export default async function kernelBuildExecutor(options: KernelBuildSchema, context: ExecutorContext) {
  return runStep(() => buildKernelTarget({ workspaceRoot: context.root, kernelId: options.kernel, env: process.env }), context.root);
}
