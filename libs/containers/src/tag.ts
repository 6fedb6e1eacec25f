/**
 * Content-addressed names for LinuxKit container images (design decision 2):
 * `${HOOK_LK_CONTAINERS_OCI_BASE}<name>:<hash8>-<arch>`, the hash taken over the image folder
 * (upstream's directory hash) and over what the image takes from other projects (the base
 * image's tag, a bundled app ...), so that a change anywhere the image depends on moves the tag.
 */
import { createHash } from 'node:crypto';
import { containersOciBase, type DockerArch, type ImageInputs } from '@hook/layout';
import { hashDirectory } from './dir-hash';

// The defaults, the architecture names and image.json's types live in @hook/layout (one home).
export { DOCKER_ARCHES, containersOciBase, type DockerArch, type ImageInputs } from '@hook/layout';

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

/** Where the builder stages of images are tagged: local only, never pushed (builder-stage.ts). */
export const BUILDER_STAGE_REPO_PREFIX = 'hook-builder/';

/** The local-only repository of an image's builder stages. */
export function builderStageRepo(imageName: string): string {
  return `${BUILDER_STAGE_REPO_PREFIX}${imageName}`;
}

/** The stage's tag for the image's tag (`<hash8>-<arch>`). */
export function builderStageRef(imageName: string, tag: string): string {
  return `${builderStageRepo(imageName)}:${tag}`;
}

export async function computeImageInputs(workspaceRoot: string, name: string, dependencies: Record<string, string>): Promise<ImageInputs> {
  const directory = `images/${name}`;
  return { directory, directoryHash: await hashDirectory(workspaceRoot, directory), dependencies };
}

/** `hook-bootkit` -> `BOOTKIT`, `ca-certificates` -> `CA_CERTIFICATES` (the template's names). */
export function templateVariableName(name: string): string {
  return `HOOK_CONTAINER_${name.replace(/^hook-/, '').toUpperCase().replace(/-/g, '_')}_IMAGE`;
}
