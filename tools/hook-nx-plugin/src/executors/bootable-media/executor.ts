import type { ExecutorContext } from '@nx/devkit';
import { notImplemented } from '../run';
import type { BootableMediaSchema } from './schema';

export default async function bootableMediaExecutor(_options: BootableMediaSchema, context: ExecutorContext) {
  return notImplemented('bootable media', context);
}
