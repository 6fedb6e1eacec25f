import type { ExecutorContext } from '@nx/devkit';
import { UserError } from '@hook/log';
import { configureKernel } from '@hook/kernel';
import { runStep } from '../run';

import type { KernelConfigSchema } from './schema';

/** menuconfig (saved back to kernel/configs with savedefconfig) or a shell in the build environment. */
export default async function kernelConfigExecutor(options: KernelConfigSchema, context: ExecutorContext) {
  return runStep(async () => {
    if (!process.stdin.isTTY) {
      throw new UserError(`${context.projectName}:${context.targetName} is interactive and needs a terminal; run it from a shell, not from a pipe or CI`);
    }
    await configureKernel({ workspaceRoot: context.root, kernelId: options.kernel, env: process.env, mode: options.mode ?? 'menuconfig' });
  });
}
