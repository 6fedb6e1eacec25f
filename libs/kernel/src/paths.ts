/** Where the kernel library keeps caches (downloads, unpacked sources, objects, ccache) and outputs. */
import { cacheDir, inWorkspace, kernelDir } from '@hook/layout';
import { setting } from '@hook/settings';

export { kernelOciBase } from '@hook/layout';

export function kernelCacheDir(workspaceRoot: string, env: NodeJS.ProcessEnv, ...parts: string[]): string {
  return cacheDir(workspaceRoot, env, 'kernel', ...parts);
}

export function kernelDistDir(workspaceRoot: string, kernelId: string): string {
  return inWorkspace(workspaceRoot, kernelDir(kernelId));
}

/** SOURCE_DATE_EPOCH when set (reproducible builds), else 0 for archive entries. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  return setting(env, 'SOURCE_DATE_EPOCH');
}
