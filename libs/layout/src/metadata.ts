/**
 * The metadata files in dist/: kernel.json beside a kernel's files, image.json beside an image's
 * OCI layout. Written by the kernel and container libraries, read by the flavor build, the
 * kernel publisher and the kernel builder (the Debian base's tag). Both are JSON with two-space
 * indentation and a final newline.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import type { Arch, DockerArch } from './arch';
import { KERNEL_FILES, imageDir, inWorkspace, kernelDir } from './dist';

export type KernelMethod = 'default' | 'armbian' | 'debian';

export interface FileDigest {
  sha256: string;
  size: number;
}

/** dist/kernels/<id>/kernel.json */
export interface KernelMetadata {
  id: string;
  method: KernelMethod;
  arch: Arch;
  /** `uname -r` of the kernel. */
  release: string;
  /** MAJOR.MINOR.POINT */
  version: string;
  /** The OCI tag, e.g. `6.12.117-0123abcd`. */
  tag: string;
  /** The full image reference the kernel is published as. */
  image: string;
  source: {
    /** kernel.org, mirror, tarball, debian (source package), debian-package, armbian */
    provider: string;
    /** The exact version of what was used: `6.12.117`, Debian's `6.12.117-1`, an Armbian tag. */
    version: string;
    /** Package or artifact name when there is one. */
    name?: string;
  };
  defconfig?: string;
  /** Where a source kernel was compiled: on the host or in the kernel builder container. */
  builder?: 'host' | 'container';
  files: Record<string, FileDigest>;
}

/** How an image got into the engine when its output was written. */
export type ImageSource = 'local' | 'dist' | 'pulled' | 'built' | 'bootstrapped' | 'registry-base';

export interface ImageInputs {
  /** The folder, relative to the workspace root, e.g. `images/dhcp`. */
  directory: string;
  /** Upstream's directory hash of that folder (64 hex). */
  directoryHash: string;
  /** What the image takes from elsewhere: name -> a hash or a content-addressed reference. */
  dependencies: Record<string, string>;
}

/** dist/images/<name>/<arch>/image.json */
export interface ImageMetadata {
  /** The image folder's name, e.g. `dhcp`. */
  name: string;
  /** The content-addressed reference, e.g. `ghcr.io/tinkerbell/hook/linuxkit/dhcp:1a2b3c4d-amd64`. */
  ref: string;
  /** `<hash8>-<arch>` */
  tag: string;
  /** The full content hash the tag starts with. */
  hash: string;
  arch: DockerArch;
  platform: string;
  /** The manifest's digest in the OCI layout. */
  digest: string;
  /** The image ID (config digest), the same in the engine and in the layout. */
  imageId: string;
  /** Config plus layers, in bytes, as stored in the layout. */
  size: number;
  /** What went into the hash. */
  inputs: ImageInputs;
  /** Where the image came from when this output was written. */
  source: ImageSource;
  /** For a bootstrapped base: `package=version` of every installed package. */
  packages?: string[];
}

export const IMAGE_METADATA_FILE = 'image.json';
export const KERNEL_METADATA_FILE = KERNEL_FILES.metadata;

/** The kernel's metadata; a user error naming the target to run when it is not built. */
export async function readKernelJson(workspaceRoot: string, kernelId: string): Promise<KernelMetadata> {
  const relative = `${kernelDir(kernelId)}/${KERNEL_METADATA_FILE}`;
  return readJson<KernelMetadata>(inWorkspace(workspaceRoot, relative), `kernel ${kernelId} is not built (no ${relative}); run: npx nx run kernel-${kernelId}:build`);
}

export async function writeKernelJson(dir: string, metadata: KernelMetadata): Promise<void> {
  await writeJsonAtomic(join(dir, KERNEL_METADATA_FILE), metadata);
}

/** The image's metadata in dist/; a user error naming the target to run when it is not built. */
export async function requireImageJson(workspaceRoot: string, name: string, arch: DockerArch): Promise<ImageMetadata> {
  const relative = `${imageDir(name, arch)}/${IMAGE_METADATA_FILE}`;
  return readJson<ImageMetadata>(inWorkspace(workspaceRoot, relative), `image ${name} is not built for ${arch} (no ${relative}); run: npx nx run ${name}:build-${arch}`);
}

/** The metadata in an image directory, or undefined when there is none (or it is unreadable). */
export async function readImageJson(dir: string): Promise<ImageMetadata | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, IMAGE_METADATA_FILE), 'utf8')) as ImageMetadata;
  } catch {
    return undefined;
  }
}

export async function writeImageJson(dir: string, metadata: ImageMetadata): Promise<void> {
  await writeJsonAtomic(join(dir, IMAGE_METADATA_FILE), metadata);
}

async function readJson<T>(path: string, missing: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(missing);
    throw error;
  }
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
