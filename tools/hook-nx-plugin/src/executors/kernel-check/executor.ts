import type { ExecutorContext } from '@nx/devkit';
import { checkKernelConfigTarget } from '@hook/kernel';
import { runStep } from '../run';
import type { KernelCheckSchema } from './schema';

/** The kernel's config against kernel/configs/required.yaml and Docker's check-config.sh (no compile). */
export default async function kernelCheckExecutor(options: KernelCheckSchema, context: ExecutorContext) {
  return runStep(() => checkKernelConfigTarget({ workspaceRoot: context.root, kernelId: options.kernel, env: process.env }));
}
