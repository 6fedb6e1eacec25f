import type { ExecutorContext } from '@nx/devkit';
import { buildKernelTarget } from '@hook/kernel';
import { runStep } from '../run';
import type { KernelBuildSchema } from './schema';

/** An Armbian kernel: the ORAS artifact of .debs, extracted and trimmed. */
export default async function armbianFetchExecutor(options: KernelBuildSchema, context: ExecutorContext) {
  return runStep(() => buildKernelTarget({ workspaceRoot: context.root, kernelId: options.kernel, env: process.env }), context.root);
}
