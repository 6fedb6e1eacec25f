/**
 * The Debian base image (design decision 4), the project `images/debian-base/` (detected by its
 * `image.yaml`). See that file for where the image comes from and what its tag hashes.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import { BASE_IMAGE_FILE, BASE_IMAGE_NAME, type DockerArch, type ImageInputs, type ImageMetadata } from '@hook/layout';
import { UserError, log } from '@hook/log';
import type { DockerEngine } from '@hook/docker';
import { type ImageConfig, MediaType, OciLayout } from '@hook/oci';
import { parse } from 'yaml';
import { hostDebianMirror } from './apt-sources';
import { bootstrapDebianTar } from './bootstrap';
import { dockerArchiveFromLayout } from './docker-archive';
import { inspectLocalImage, loadImage, tryPullImage } from './engine-images';
import { existingOutput, imageOutputDir, saveImageOutput, writeOutputAtomically } from './output';
import { type ImageTag, computeImageInputs, imageContentHash, imageTag } from './tag';
import { setting } from '@hook/settings';
/**
 * Bumped whenever the bootstrap recipe in code changes what it produces (bootstrap.ts), so the
 * base tag moves with it.
 */
export const BOOTSTRAP_RECIPE_VERSION = '2';

export interface BaseRecipe {
  suite: string;
  variant: string;
  registryImage: string;
  packages: string[];
  sourceDateEpoch: number;
}

export async function readBaseRecipe(workspaceRoot: string): Promise<BaseRecipe> {
  const path = join(workspaceRoot, 'images', BASE_IMAGE_NAME, BASE_IMAGE_FILE);
  let data: Partial<BaseRecipe>;
  try {
    data = (parse(await readFile(path, 'utf8')) ?? {}) as Partial<BaseRecipe>;
  } catch (error) {
    throw new UserError(`cannot read the Debian base recipe ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  const text = (key: keyof BaseRecipe) => {
    const value = data[key];
    if (typeof value !== 'string' || !value) throw new UserError(`${path}: "${key}" must be a non-empty string`);
    return value;
  };
  const packages = data.packages ?? [];
  if (!Array.isArray(packages) || packages.some((p) => typeof p !== 'string')) throw new UserError(`${path}: "packages" must be a list of package names`);
  if (!Number.isInteger(data.sourceDateEpoch)) throw new UserError(`${path}: "sourceDateEpoch" must be a whole number of seconds`);
  return { suite: text('suite'), variant: text('variant'), registryImage: text('registryImage'), packages, sourceDateEpoch: data.sourceDateEpoch! };
}

/** The registry image to try before bootstrapping; undefined when switched off with "none". */
export function registryBaseImage(recipe: BaseRecipe, env: NodeJS.ProcessEnv): string | undefined {
  const value = setting(env, 'HOOK_DEBIAN_BASE_IMAGE') ?? recipe.registryImage;
  return value === 'none' ? undefined : value;
}

export interface BaseImageInfo {
  recipe: BaseRecipe;
  inputs: ImageInputs;
  tag: ImageTag;
}

/** The base image's inputs and content-addressed tag, computed without the engine. */
export async function describeBaseImage(workspaceRoot: string, arch: DockerArch, env: NodeJS.ProcessEnv): Promise<BaseImageInfo> {
  const recipe = await readBaseRecipe(workspaceRoot);
  const inputs = await computeImageInputs(workspaceRoot, BASE_IMAGE_NAME, {
    'bootstrap-recipe': BOOTSTRAP_RECIPE_VERSION,
    'registry-image': registryBaseImage(recipe, env) ?? 'none',
  });
  return { recipe, inputs, tag: imageTag(BASE_IMAGE_NAME, imageContentHash(inputs), arch, env) };
}

/**
 * Makes the base image available in the engine under its tag and in dist/, the cheapest way
 * that works (engine, dist/, published tag, registry image, mmdebstrap).
 */
export async function ensureBaseImage(engine: DockerEngine, workspaceRoot: string, arch: DockerArch, env: NodeJS.ProcessEnv): Promise<ImageMetadata> {
  const { recipe, inputs, tag } = await describeBaseImage(workspaceRoot, arch, env);
  const { docker } = engine;
  const outputDir = imageOutputDir(workspaceRoot, BASE_IMAGE_NAME, arch);
  const base = { name: BASE_IMAGE_NAME, ref: tag.ref, tag: tag.tag, hash: tag.hash, arch, inputs };
  const inDist = await existingOutput(outputDir, tag.ref);

  if (await inspectLocalImage(docker, tag.ref, arch)) {
    log.info(`Debian base ${tag.ref}: in the Docker engine`);
    return inDist ?? saveImageOutput(docker, outputDir, { ...base, source: 'local' });
  }
  if (inDist) {
    log.info(`Debian base ${tag.ref}: loading it from ${outputDir}`);
    await loadImage(docker, await dockerArchiveFromLayout(await OciLayout.open(outputDir), tag.ref, tag.ref));
    return inDist;
  }
  if (await tryPullImage(docker, tag.ref, arch, env)) return saveImageOutput(docker, outputDir, { ...base, source: 'pulled' });

  const registryImage = registryBaseImage(recipe, env);
  if (registryImage && ((await inspectLocalImage(docker, registryImage, arch)) || (await tryPullImage(docker, registryImage, arch, env)))) {
    log.info(`Debian base ${tag.ref}: from ${registryImage}`);
    const [repo, imageTagName] = splitRepoTag(tag.ref);
    await docker.getImage(registryImage).tag({ repo, tag: imageTagName });
    return saveImageOutput(docker, outputDir, { ...base, source: 'registry-base' });
  }
  if (!setting(env, 'DO_BUILD_LK_CONTAINERS')) {
    throw new UserError(`the Debian base ${tag.ref} is not in the Docker engine, not pullable, and DO_BUILD_LK_CONTAINERS=no forbids bootstrapping it: unset DO_BUILD_LK_CONTAINERS or make ${registryImage ?? 'a base image'} pullable`);
  }
  log.info(`Debian base ${tag.ref}: ${registryImage ?? 'no registry image'} is not reachable; bootstrapping it`);
  const metadata = await bootstrapBaseOutput(workspaceRoot, recipe, base, env);
  await loadImage(docker, await dockerArchiveFromLayout(await OciLayout.open(outputDir), tag.ref, tag.ref));
  return metadata;
}

/** Debootstrap into a one-layer OCI image with a fixed config, written to dist/. */
async function bootstrapBaseOutput(
  workspaceRoot: string,
  recipe: BaseRecipe,
  base: Omit<ImageMetadata, 'digest' | 'imageId' | 'size' | 'platform' | 'source'>,
  env: NodeJS.ProcessEnv,
): Promise<ImageMetadata> {
  const mirror = await hostDebianMirror(env);
  const outputDir = imageOutputDir(workspaceRoot, BASE_IMAGE_NAME, base.arch);
  return writeOutputAtomically(outputDir, async (layout, tempDir) => {
    const tarPath = join(tempDir, 'rootfs.tar');
    try {
      const { packages } = await bootstrapDebianTar({
        suite: recipe.suite,
        variant: recipe.variant,
        arch: base.arch,
        mirror,
        packages: recipe.packages,
        sourceDateEpoch: recipe.sourceDateEpoch,
        tarPath,
      });
      const layer = await layout.writeBlob(createReadStream(tarPath), MediaType.ociLayer);
      const created = new Date(recipe.sourceDateEpoch * 1000).toISOString();
      const config: ImageConfig = {
        created,
        architecture: base.arch,
        os: 'linux',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
        history: [{ created, created_by: `mmdebstrap --variant=${recipe.variant} ${recipe.suite} (hook debian-base recipe ${BOOTSTRAP_RECIPE_VERSION})` }],
      };
      const configDesc = await layout.writeJsonBlob(config, MediaType.ociConfig);
      const manifest = await layout.writeJsonBlob({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [layer] }, MediaType.ociManifest);
      await layout.addManifest({ ...manifest, platform: { os: 'linux', architecture: base.arch } }, base.ref);
      return {
        ...base,
        source: 'bootstrapped',
        platform: `linux/${base.arch}`,
        digest: manifest.digest,
        imageId: configDesc.digest,
        size: configDesc.size + layer.size,
        packages,
      };
    } finally {
      if (await stat(tarPath).catch(() => undefined)) await rm(tarPath, { force: true });
    }
  });
}

/** `registry:5000/a/b:tag` -> [`registry:5000/a/b`, `tag`] */
export function splitRepoTag(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  if (colon <= ref.lastIndexOf('/')) return [ref, 'latest'];
  return [ref.slice(0, colon), ref.slice(colon + 1)];
}
