import type { ExecutorContext } from '@nx/devkit';
import { notImplemented } from '../run';

export default async function linuxkitBuildExecutor(_options: Record<string, unknown>, context: ExecutorContext) {
  return notImplemented('assembling HookOS', context);
}
