import type { ExecutorContext } from '@nx/devkit';
import { notImplemented } from '../run';

export default async function kernelPublishExecutor(_options: Record<string, unknown>, context: ExecutorContext) {
  return notImplemented('publishing kernels', context);
}
