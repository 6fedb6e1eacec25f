/**
 * Settings with a default that several parts of Hook read: the environment variable wins, else
 * upstream's value. The CLI shows them; the libraries read them through these functions, so an
 * unset variable means the same everywhere (and `./hook build` hashes like `nx run`).
 */
import { join, resolve } from 'node:path';

/** Goes into /etc/os-release, the motd and the ISO. */
export const DEFAULT_HOOK_VERSION = '0.11.1';
/** Upstream's publishing location of kernel images; a setting (HOOK_KERNEL_OCI_BASE). */
export const DEFAULT_KERNEL_OCI_BASE = 'ghcr.io/tinkerbell/hook/kernel/hook-kernel';
/** Upstream's publishing location of container images; a setting (HOOK_LK_CONTAINERS_OCI_BASE). */
export const DEFAULT_LK_CONTAINERS_OCI_BASE = 'ghcr.io/tinkerbell/hook/linuxkit/';
/** Where Armbian publishes its OCI artifacts (kernels, u-boot); a setting (ARMBIAN_BASE_ORAS_REF). */
export const DEFAULT_ARMBIAN_OCI_BASE = 'ghcr.io/armbian/os';
/** Downloads, unpacked kernel sources, ccache (CACHE_DIR), relative to the workspace. */
export const DEFAULT_CACHE_DIR = 'cache';

/** A folder in the cache: CACHE_DIR (default `cache/` in the workspace), absolute, then `parts`. */
export function cacheDir(workspaceRoot: string, env: NodeJS.ProcessEnv, ...parts: string[]): string {
  return join(resolve(workspaceRoot, env.CACHE_DIR || DEFAULT_CACHE_DIR), ...parts);
}

export function hookVersion(env: NodeJS.ProcessEnv): string {
  return env.HOOK_VERSION || DEFAULT_HOOK_VERSION;
}

export function kernelOciBase(env: NodeJS.ProcessEnv): string {
  return env.HOOK_KERNEL_OCI_BASE || DEFAULT_KERNEL_OCI_BASE;
}

export function armbianOciBase(env: NodeJS.ProcessEnv): string {
  return (env.ARMBIAN_BASE_ORAS_REF || DEFAULT_ARMBIAN_OCI_BASE).replace(/\/+$/, '');
}

export function containersOciBase(env: NodeJS.ProcessEnv): string {
  return env.HOOK_LK_CONTAINERS_OCI_BASE || DEFAULT_LK_CONTAINERS_OCI_BASE;
}

/** Every default above by its variable name (what `hook` logs and `hook --help` names). */
export const DEFAULTS = {
  HOOK_VERSION: DEFAULT_HOOK_VERSION,
  HOOK_KERNEL_OCI_BASE: DEFAULT_KERNEL_OCI_BASE,
  HOOK_LK_CONTAINERS_OCI_BASE: DEFAULT_LK_CONTAINERS_OCI_BASE,
  ARMBIAN_BASE_ORAS_REF: DEFAULT_ARMBIAN_OCI_BASE,
  CACHE_DIR: DEFAULT_CACHE_DIR,
} as const;
