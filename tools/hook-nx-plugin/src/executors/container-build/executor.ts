import type { ExecutorContext } from '@nx/devkit';
import { notImplemented } from '../run';

export default async function containerBuildExecutor(_options: Record<string, unknown>, context: ExecutorContext) {
  return notImplemented('building container images', context);
}
