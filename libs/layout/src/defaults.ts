/**
 * Settings with a default that several parts of Hook read, as the values they mean (the
 * registry in @hook/settings holds their names, defaults and parsers): an unset variable means
 * the same everywhere, and `./hook build` hashes like `nx run`.
 */
import { join, resolve } from 'node:path';
import { setting } from '@hook/settings';

/** A folder in the cache: CACHE_DIR (default `cache/` in the workspace), absolute, then `parts`. */
export function cacheDir(workspaceRoot: string, env: NodeJS.ProcessEnv, ...parts: string[]): string {
  return join(resolve(workspaceRoot, setting(env, 'CACHE_DIR')), ...parts);
}

export function hookVersion(env: NodeJS.ProcessEnv): string {
  return setting(env, 'HOOK_VERSION');
}

export function kernelOciBase(env: NodeJS.ProcessEnv): string {
  return setting(env, 'HOOK_KERNEL_OCI_BASE');
}

export function armbianOciBase(env: NodeJS.ProcessEnv): string {
  return setting(env, 'ARMBIAN_BASE_ORAS_REF').replace(/\/+$/, '');
}

export function containersOciBase(env: NodeJS.ProcessEnv): string {
  return setting(env, 'HOOK_LK_CONTAINERS_OCI_BASE');
}
