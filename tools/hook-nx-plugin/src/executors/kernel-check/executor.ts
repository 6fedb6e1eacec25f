import type { ExecutorContext } from '@nx/devkit';
import { checkKernelConfigTarget } from '@hook/kernel';
import { runStep } from '../run';

/** The kernel's config against kernel/configs/required.yaml and Docker's check-config.sh (no compile). */
export default async function kernelCheckExecutor(options: { kernel: string }, context: ExecutorContext) {
  return runStep(() => checkKernelConfigTarget({ workspaceRoot: context.root, kernelId: options.kernel, env: process.env }));
}
