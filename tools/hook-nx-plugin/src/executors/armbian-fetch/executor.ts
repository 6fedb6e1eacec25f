import type { ExecutorContext } from '@nx/devkit';
import { notImplemented } from '../run';

export default async function armbianFetchExecutor(_options: Record<string, unknown>, context: ExecutorContext) {
  return notImplemented('fetching Armbian kernels', context);
}
