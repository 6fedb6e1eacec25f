import type { ExecutorContext } from '@nx/devkit';
import { notImplemented } from '../run';

export default async function qemuRunExecutor(_options: Record<string, unknown>, context: ExecutorContext) {
  return notImplemented('booting HookOS in QEMU', context);
}
