/**
 * A built image's output in `dist/`: an OCI image layout at `dist/images/<name>/<arch>/` plus
 * `image.json` describing it, written to a temporary directory and renamed into place only
 * when complete, so Nx caches whole outputs and the assembler reads them without a daemon.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { removeOnInterrupt } from '@hook/process';
import { IMAGE_SBOM_FILE, imageDir, inWorkspace, readImageJson, writeImageJson, type DockerArch, type ImageMetadata } from '@hook/layout';
import { OciLayout, importDockerArchive } from '@hook/oci';
import { imageBom, readImageContents, writeBom, type DpkgDatabase, type PackageSource } from '@hook/sbom';
import { saveImage } from './engine-images';

export function imageOutputDir(workspaceRoot: string, name: string, arch: DockerArch): string {
  return inWorkspace(workspaceRoot, imageDir(name, arch));
}

/** The output already in dist/ for exactly this reference, if complete (with its SBOM). */
export async function existingOutput(dir: string, ref: string): Promise<ImageMetadata | undefined> {
  const metadata = await readImageJson(dir);
  if (metadata?.ref !== ref) return undefined;
  // An image of another architecture under this arch's tag (see buildForArch) is not the output.
  if (metadata.platform && metadata.arch && metadata.platform !== `linux/${metadata.arch}`) return undefined;
  try {
    await access(join(dir, IMAGE_SBOM_FILE));
    const layout = await OciLayout.open(dir);
    await layout.resolveImage(ref);
    return metadata;
  } catch {
    return undefined;
  }
}

/**
 * What an image's SBOM says about its Debian packages: the dpkg database of its builder stage
 * (builderStagePackages), or nothing known. Without it, an image that carries its own dpkg
 * database (the Debian base) lists that one.
 */
export interface ImagePackages {
  dpkg?: DpkgDatabase;
  source: PackageSource;
}

/** Writes the image's SBOM (IMAGE_SBOM_FILE) into its output directory. */
async function writeImageSbom(dir: string, metadata: ImageMetadata, packages?: ImagePackages): Promise<void> {
  const contents = await readImageContents(dir, metadata.ref);
  const known: ImagePackages = packages ?? (contents.dpkg ? { dpkg: contents.dpkg, source: 'image' } : { source: 'unknown' });
  await writeBom(join(dir, IMAGE_SBOM_FILE), imageBom({ metadata, files: contents.files, dpkg: known.dpkg, packageSource: known.source }));
}

/**
 * Fills a fresh layout in a temporary sibling directory, then swaps it in for `dir`. `fill`
 * writes the image (listed under `ref`) and returns the metadata to store beside it, with the
 * image's SBOM.
 */
export async function writeOutputAtomically(
  dir: string,
  fill: (layout: OciLayout, tempDir: string) => Promise<ImageMetadata>,
  packages?: ImagePackages,
): Promise<ImageMetadata> {
  const parent = join(dir, '..');
  await mkdir(parent, { recursive: true });
  const temp = join(parent, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const forget = removeOnInterrupt(temp);
  try {
    const layout = await OciLayout.create(temp);
    const metadata = await fill(layout, temp);
    await writeImageSbom(temp, metadata, packages);
    await writeImageJson(temp, metadata);
    await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
    return metadata;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  } finally {
    forget();
  }
}

/** `docker save` of `ref` converted into `dir` as an OCI layout with image.json. */
export async function saveImageOutput(
  docker: Dockerode,
  dir: string,
  base: Omit<ImageMetadata, 'digest' | 'imageId' | 'size' | 'platform'>,
  packages?: ImagePackages,
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
  }, packages);
}

async function configDigest(layout: OciLayout, ref: string): Promise<string> {
  return (await layout.resolveImage(ref)).manifest.config.digest;
}
