import type { ExecutorContext } from '@nx/devkit';
import { publishKernelTarget } from '@hook/kernel';
import { runStep } from '../run';
import type { KernelPublishSchema } from './schema';

/** DO_PUSH=yes pushes the built kernel image; EXPORT_KERNEL_IMAGE=yes exports it (never cached). */
export default async function kernelPublishExecutor(options: KernelPublishSchema, context: ExecutorContext) {
  return runStep(() => publishKernelTarget({ workspaceRoot: context.root, kernelId: options.kernel, env: process.env }), context.root);
}
