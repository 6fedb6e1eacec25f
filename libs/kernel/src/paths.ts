/** Where the kernel library keeps caches (downloads, unpacked sources, objects, ccache) and outputs. */
import { join, resolve } from 'node:path';

export function cacheRoot(workspaceRoot: string, env: NodeJS.ProcessEnv): string {
  return resolve(workspaceRoot, env.CACHE_DIR || 'cache');
}

export function kernelCacheDir(workspaceRoot: string, env: NodeJS.ProcessEnv, ...parts: string[]): string {
  return join(cacheRoot(workspaceRoot, env), 'kernel', ...parts);
}

export function kernelDistDir(workspaceRoot: string, kernelId: string): string {
  return join(workspaceRoot, 'dist', 'kernels', kernelId);
}

/** The upstream default location of published kernels; a setting (HOOK_KERNEL_OCI_BASE). */
export const DEFAULT_KERNEL_OCI_BASE = 'ghcr.io/tinkerbell/hook/kernel/hook-kernel';

export function kernelOciBase(env: NodeJS.ProcessEnv): string {
  return env.HOOK_KERNEL_OCI_BASE || DEFAULT_KERNEL_OCI_BASE;
}

/** SOURCE_DATE_EPOCH when set (reproducible builds), else 0 for archive entries. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  const value = env.SOURCE_DATE_EPOCH;
  if (value === undefined || value === '') return undefined;
  const epoch = Number(value);
  return Number.isInteger(epoch) && epoch >= 0 ? epoch : undefined;
}
