import type { ExecutorContext } from '@nx/devkit';
import { buildFlavor } from '@hook/hookos';
import { runStep } from '../run';
import type { LinuxkitBuildSchema } from './schema';

/** Assembles HookOS for a flavor from its kernel and images in dist/. */
export default async function linuxkitBuildExecutor(options: LinuxkitBuildSchema, context: ExecutorContext) {
  return runStep(() => buildFlavor({ workspaceRoot: context.root, flavorId: options.flavor, env: process.env, format: options.format, backend: options.backend, initramfs: options.initramfs }), context.root);
}
