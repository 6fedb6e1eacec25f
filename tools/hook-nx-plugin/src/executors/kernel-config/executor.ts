import type { ExecutorContext } from '@nx/devkit';
import { notImplemented } from '../run';

export default async function kernelConfigExecutor(_options: Record<string, unknown>, context: ExecutorContext) {
  return notImplemented('configuring kernels', context);
}
