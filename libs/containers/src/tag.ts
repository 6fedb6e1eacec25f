/**
 * Content-addressed names for LinuxKit container images (design decision 2):
 * `${HOOK_LK_CONTAINERS_OCI_BASE}<name>:<hash8>-<arch>`, the hash taken over the image folder
 * (upstream's directory hash) and over what the image takes from other projects (the base
 * image's tag, a bundled app ...), so that a change anywhere the image depends on moves the tag.
 */
import { createHash } from 'node:crypto';
import { UserError } from '@hook/log';
import { hashDirectory } from './dir-hash';

/** Upstream's default publishing location; a setting, overridden by HOOK_LK_CONTAINERS_OCI_BASE. */
export const DEFAULT_LK_CONTAINERS_OCI_BASE = 'ghcr.io/tinkerbell/hook/linuxkit/';

export type DockerArch = 'amd64' | 'arm64';
export const DOCKER_ARCHES: readonly DockerArch[] = ['amd64', 'arm64'];

export interface ImageInputs {
  /** The folder, relative to the workspace root, e.g. `images/dhcp`. */
  directory: string;
  /** Upstream's directory hash of that folder (64 hex). */
  directoryHash: string;
  /** What the image takes from elsewhere: name -> a hash or a content-addressed reference. */
  dependencies: Record<string, string>;
}

/**
 * The image's content hash: the directory hash itself when nothing else goes in (the same tag as
 * upstream for the same folder), otherwise sha256 over the directory hash and the sorted
 * `name=value` lines of the dependencies.
 */
export function imageContentHash(inputs: Pick<ImageInputs, 'directoryHash' | 'dependencies'>): string {
  const names = Object.keys(inputs.dependencies).sort();
  if (names.length === 0) return inputs.directoryHash;
  const hash = createHash('sha256').update(`${inputs.directoryHash}\n`);
  for (const name of names) hash.update(`${name}=${inputs.dependencies[name]}\n`);
  return hash.digest('hex');
}

export function containersOciBase(env: NodeJS.ProcessEnv): string {
  return env.HOOK_LK_CONTAINERS_OCI_BASE || DEFAULT_LK_CONTAINERS_OCI_BASE;
}

export interface ImageTag {
  /** e.g. `1a2b3c4d-amd64` */
  tag: string;
  /** e.g. `ghcr.io/tinkerbell/hook/linuxkit/dhcp:1a2b3c4d-amd64` */
  ref: string;
  /** The full 64-hex content hash. */
  hash: string;
}

export function imageTag(name: string, hash: string, arch: DockerArch, env: NodeJS.ProcessEnv): ImageTag {
  const tag = `${hash.slice(0, 8)}-${arch}`;
  return { tag, ref: `${containersOciBase(env)}${name}:${tag}`, hash };
}

export async function computeImageInputs(workspaceRoot: string, name: string, dependencies: Record<string, string>): Promise<ImageInputs> {
  const directory = `images/${name}`;
  return { directory, directoryHash: await hashDirectory(workspaceRoot, directory), dependencies };
}

/** `hook-bootkit` -> `BOOTKIT`, `ca-certificates` -> `CA_CERTIFICATES` (the template's names). */
export function templateVariableName(name: string): string {
  return `HOOK_CONTAINER_${name.replace(/^hook-/, '').toUpperCase().replace(/-/g, '_')}_IMAGE`;
}

export function parseArch(value: string | undefined): DockerArch {
  if (value === 'amd64' || value === 'x86_64') return 'amd64';
  if (value === 'arm64' || value === 'aarch64') return 'arm64';
  throw new UserError(`unsupported architecture ${JSON.stringify(value)}: use amd64 or arm64 (DOCKER_ARCH)`);
}

/** The host's architecture in Docker terms. */
export function hostArch(): DockerArch {
  return parseArch(process.arch === 'x64' ? 'amd64' : process.arch);
}
