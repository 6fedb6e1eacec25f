import type { ExecutorContext } from '@nx/devkit';
import { runFlavor } from '@hook/qemu';
import { runStep } from '../run';
import type { QemuRunSchema } from './schema';

/** Boots the built flavor in QEMU with upstream's machine, its serial console on this terminal. */
export default async function qemuRunExecutor(options: QemuRunSchema, context: ExecutorContext) {
  return runStep(() => runFlavor({ workspaceRoot: context.root, flavorId: options.flavor, env: process.env }));
}
