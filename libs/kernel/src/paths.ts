/** Where the kernel library keeps caches (downloads, unpacked sources, objects, ccache) and outputs. */
import { cacheDir, inWorkspace, kernelDir } from '@hook/layout';

// The kernel image location's default is a fact of @hook/layout (one home for the defaults).
export { DEFAULT_KERNEL_OCI_BASE, kernelOciBase } from '@hook/layout';

export function kernelCacheDir(workspaceRoot: string, env: NodeJS.ProcessEnv, ...parts: string[]): string {
  return cacheDir(workspaceRoot, env, 'kernel', ...parts);
}

export function kernelDistDir(workspaceRoot: string, kernelId: string): string {
  return inWorkspace(workspaceRoot, kernelDir(kernelId));
}

/** SOURCE_DATE_EPOCH when set (reproducible builds), else 0 for archive entries. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  const value = env.SOURCE_DATE_EPOCH;
  if (value === undefined || value === '') return undefined;
  const epoch = Number(value);
  return Number.isInteger(epoch) && epoch >= 0 ? epoch : undefined;
}
