import type { ExecutorContext } from '@nx/devkit';
import { refreshKernelLock } from '@hook/kernel';
import { runStep } from '../run';
import type { KernelLockSchema } from './schema';

/** Resolves the kernel's point release again (or its pinned version) into kernel/versions.lock.json. */
export default async function kernelLockExecutor(options: KernelLockSchema, context: ExecutorContext) {
  return runStep(() => refreshKernelLock({ workspaceRoot: context.root, kernelIds: [options.kernel], env: process.env }));
}
