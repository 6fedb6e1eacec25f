/**
 * What every executor shares: user errors end as one readable line (no stack unless
 * DEBUG=yes) and a failed task, never an unhandled exception inside Nx.
 */
import type { ExecutorContext } from '@nx/devkit';
import { UserError, checkYesNoSettings, reportError } from '@hook/log';

export type ExecutorResult = { success: boolean };

export async function runStep(step: () => Promise<unknown>): Promise<ExecutorResult> {
  try {
    checkYesNoSettings(process.env);
    await step();
    return { success: true };
  } catch (error) {
    reportError(error);
    return { success: false };
  }
}

/** For targets whose implementation lands in a later issue: fail clearly, never pretend. */
export function notImplemented(what: string, context: ExecutorContext): Promise<ExecutorResult> {
  return runStep(async () => {
    throw new UserError(`${context.projectName}:${context.targetName}: ${what} is not implemented yet`);
  });
}
