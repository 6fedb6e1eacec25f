import type { ExecutorContext } from '@nx/devkit';
import { buildBootableMedia } from '@hook/bootable';
import { runStep } from '../run';
import type { BootableMediaSchema } from './schema';

/** Writes a bootable's disk images (one per board; BOARD chooses) into dist/bootable from the flavor's build. */
export default async function bootableMediaExecutor(options: BootableMediaSchema, context: ExecutorContext) {
  return runStep(() => buildBootableMedia({ workspaceRoot: context.root, bootableId: options.bootable, flavorId: options.flavor, env: process.env }), context.root);
}
