/**
 * A built image's output in `dist/`: an OCI image layout at `dist/images/<name>/<arch>/` plus
 * `image.json` describing it, written to a temporary directory and renamed into place only
 * when complete, so Nx caches whole outputs and the assembler reads them without a daemon.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { OciLayout, importDockerArchive, writeFileAtomic } from '@hook/oci';
import { saveImage } from './engine-images';
import type { DockerArch, ImageInputs } from './tag';

/** How the image got into the engine this time. */
export type ImageSource = 'local' | 'dist' | 'pulled' | 'built' | 'bootstrapped' | 'registry-base';

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

export const METADATA_FILE = 'image.json';

export function imageOutputDir(workspaceRoot: string, name: string, arch: DockerArch): string {
  return join(workspaceRoot, 'dist', 'images', name, arch);
}

export async function readImageMetadata(dir: string): Promise<ImageMetadata | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, METADATA_FILE), 'utf8')) as ImageMetadata;
  } catch {
    return undefined;
  }
}

/** The output already in dist/ for exactly this reference, if complete. */
export async function existingOutput(dir: string, ref: string): Promise<ImageMetadata | undefined> {
  const metadata = await readImageMetadata(dir);
  if (metadata?.ref !== ref) return undefined;
  try {
    const layout = await OciLayout.open(dir);
    await layout.resolveImage(ref);
    return metadata;
  } catch {
    return undefined;
  }
}

/**
 * Fills a fresh layout in a temporary sibling directory, then swaps it in for `dir`. `fill`
 * writes the image (listed under `ref`) and returns the metadata to store beside it.
 */
export async function writeOutputAtomically(dir: string, fill: (layout: OciLayout, tempDir: string) => Promise<ImageMetadata>): Promise<ImageMetadata> {
  const parent = join(dir, '..');
  await mkdir(parent, { recursive: true });
  const temp = join(parent, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const layout = await OciLayout.create(temp);
    const metadata = await fill(layout, temp);
    await writeFileAtomic(join(temp, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
    return metadata;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** `docker save` of `ref` converted into `dir` as an OCI layout with image.json. */
export async function saveImageOutput(
  docker: Dockerode,
  dir: string,
  base: Omit<ImageMetadata, 'digest' | 'imageId' | 'size' | 'platform'>,
): Promise<ImageMetadata> {
  const engineId = (await docker.getImage(base.ref).inspect()).Id;
  return writeOutputAtomically(dir, async (layout) => {
    const imported = await importDockerArchive(await saveImage(docker, base.ref), layout, { refName: base.ref, label: `docker save ${base.ref}` });
    if (imported.manifest && imported.config && engineId && engineId !== (await configDigest(layout, base.ref))) {
      throw new Error(`the saved ${base.ref} has another image ID than the engine's ${engineId}`);
    }
    return {
      ...base,
      platform: `${imported.config.os}/${imported.config.architecture}`,
      digest: imported.manifest.digest,
      imageId: await configDigest(layout, base.ref),
      size: imported.size,
    };
  });
}

async function configDigest(layout: OciLayout, ref: string): Promise<string> {
  return (await layout.resolveImage(ref)).manifest.config.digest;
}
