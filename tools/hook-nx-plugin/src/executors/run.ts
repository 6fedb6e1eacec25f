/**
 * What every executor shares: user errors end as one readable line (no stack unless
 * DEBUG=yes) and a failed task, never an unhandled exception inside Nx.
 */
import { reportError } from '@hook/log';
import { checkSettings } from '@hook/settings';
import { stagingDirs } from '@hook/layout';
import { installInterruptHandler, removeStaleTemp } from '@hook/process';

export type ExecutorResult = { success: boolean };

/**
 * Runs an executor's work. With `workspaceRoot` (the targets that build into dist/), the temp
 * folders and staging of builds that no longer run are removed first, and an interrupt stops
 * the build's programs and removes its temp files and staging (@hook/process) before it exits.
 */
export async function runStep(step: () => Promise<unknown>, workspaceRoot?: string): Promise<ExecutorResult> {
  try {
    checkSettings(process.env);
    if (workspaceRoot) {
      installInterruptHandler();
      removeStaleTemp(stagingDirs(workspaceRoot, process.env));
    }
    await step();
    return { success: true };
  } catch (error) {
    reportError(error);
    return { success: false };
  }
}
