import type { ExecutorContext } from '@nx/devkit';
import { UserError } from '@hook/log';
import { buildFlavor, type FlavorFormat } from '@hook/hookos';
import type { Backend } from '@hook/linuxkit';
import { runStep } from '../run';

export interface LinuxkitBuildSchema {
  flavor: string;
  format?: FlavorFormat | 'tar';
  /** native (default) or linuxkit; HOOK_LINUXKIT_BACKEND wins over it. */
  backend?: Backend;
}

/** Assembles HookOS for a flavor from its kernel and images in dist/. */
export default async function linuxkitBuildExecutor(options: LinuxkitBuildSchema, context: ExecutorContext) {
  return runStep(async () => {
    if (options.format === 'tar') {
      throw new UserError('format tar: set OUTPUT_TARBALL_FILELIST=yes on the build target to get hook_rootfs_<OUTPUT_ID>.tar');
    }
    await buildFlavor({ workspaceRoot: context.root, flavorId: options.flavor, env: process.env, format: options.format, backend: options.backend });
  });
}
