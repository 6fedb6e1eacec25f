import type { ExecutorContext } from '@nx/devkit';
import { notImplemented } from '../run';

export default async function bootableMediaExecutor(_options: Record<string, unknown>, context: ExecutorContext) {
  return notImplemented('bootable media', context);
}
