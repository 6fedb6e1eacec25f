import type { ExecutorContext } from '@nx/devkit';
import { notImplemented } from '../run';

export default async function kernelBuildExecutor(_options: Record<string, unknown>, context: ExecutorContext) {
  return notImplemented('building kernels', context);
}
