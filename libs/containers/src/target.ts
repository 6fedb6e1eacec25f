/**
 * The `build` target of an image project (called by the Nx plugin's executor) and
 * `hook linuxkit-containers`. Upstream's order (bash/hook-lk-containers.sh): reuse the image the
 * engine has, else pull it, else build it unless DO_BUILD_LK_CONTAINERS=no; DO_PUSH=yes pushes;
 * EXPORT_LK_CONTAINERS=yes saves a .tar.gz. Every image also lands in dist/ as an OCI layout.
 */
import { createHash } from 'node:crypto';
import type Dockerode from 'dockerode';
import { copyFile, cp, mkdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { makeTempDir } from '@hook/process';
import { type DockerEngine, connectDocker } from '@hook/docker';
import { BASE_IMAGE_NAME, imageKind, imageNames, requireImageJson, verifyImageLayout, type DockerArch, type ImageMetadata } from '@hook/layout';
import { UserError, log } from '@hook/log';
import { OciLayout } from '@hook/oci';
import { describeBaseImage, ensureBaseImage } from './base-image';
import { ensureForeignArch } from './bootstrap';
import { dockerArchiveFromLayout } from './docker-archive';
import { type BuildRequest, type BuildResult, buildImage, exportImageTarGz, imageIdOf, removeIfUntagged, inspectLocalImage, loadImage, pushImage, tryPullImage } from './engine-images';
import { EMBEDDED_IMAGES_FOLDER, prepareEmbeddedContext } from './embedded-images';
import { type ImagePackages, existingOutput, imageOutputDir, saveImageOutput } from './output';
import { builderStagePackages, taggedStagePackages } from './builder-stage';
import { computeImageInputs, imageContentHash, imageTag } from './tag';
import { setting } from '@hook/settings';

export interface ContainerTargetOptions {
  workspaceRoot: string;
  imageName: string;
  arch: DockerArch;
  env: NodeJS.ProcessEnv;
  /**
   * Hashes of what the image takes from other projects besides the base image (e.g. the
   * bundled bootkit), name -> hash; they go into the tag.
   */
  dependencies?: Record<string, string>;
  /** An engine already connected (buildAllContainers shares one). */
  engine?: DockerEngine;
}

/** The image folders with a Dockerfile (the rule of @hook/layout), sorted. */
export async function listImageFolders(workspaceRoot: string): Promise<string[]> {
  return imageNames(workspaceRoot, 'dockerfile');
}

/**
 * Files every image's build context gets besides its own folder, so the Dockerfiles share one
 * copy (`COPY rootfs-copy.sh ...`, `COPY cmdline.sh ...`). Their hashes are inputs of every tag.
 */
export const SHARED_CONTEXT_FILES: readonly string[] = ['rootfs-copy.sh', 'cmdline.sh'].map((name) => join(assetsDir(), name));

/** libs/containers/assets: beside this file's folder, or (in an executor's bundle under node_modules/.cache) in a folder above. */
function assetsDir(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    for (const candidate of [join(dir, 'assets'), join(dir, 'libs', 'containers', 'assets')]) {
      if (existsSync(join(candidate, 'rootfs-copy.sh'))) return candidate;
    }
    if (dirname(dir) === dir) throw new Error(`libs/containers/assets is not above ${__dirname}`);
  }
}

async function sharedContextHashes(): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const file of SHARED_CONTEXT_FILES) {
    hashes[basename(file)] = createHash('sha256').update(await readFile(file)).digest('hex');
  }
  return hashes;
}

/** The tag an image gets for these inputs, without the engine. */
export async function describeContainer(opts: Omit<ContainerTargetOptions, 'engine'>) {
  const base = await describeBaseImage(opts.workspaceRoot, opts.arch, opts.env);
  const inputs = await computeImageInputs(opts.workspaceRoot, opts.imageName, {
    [BASE_IMAGE_NAME]: base.tag.ref,
    ...(await sharedContextHashes()),
    ...opts.dependencies,
  });
  return { base, inputs, tag: imageTag(opts.imageName, imageContentHash(inputs), opts.arch, opts.env) };
}

export async function buildContainerTarget(opts: ContainerTargetOptions): Promise<ImageMetadata> {
  const { workspaceRoot, imageName, arch, env } = opts;
  const publish = setting(env, 'DO_PUSH') || setting(env, 'EXPORT_LK_CONTAINERS');

  if (imageName === BASE_IMAGE_NAME) {
    const { tag } = await describeBaseImage(workspaceRoot, arch, env);
    const done = await existingOutput(imageOutputDir(workspaceRoot, imageName, arch), tag.ref);
    if (done && !publish) return upToDate(done);
    const engine = opts.engine ?? (await connectDocker(env));
    const metadata = await ensureBaseImage(engine, workspaceRoot, arch, env);
    await publishImage(engine, metadata, env);
    return metadata;
  }

  if (imageKind(workspaceRoot, imageName) !== 'dockerfile') {
    throw new UserError(`images/${imageName} has no Dockerfile; the image folders are: ${(await listImageFolders(workspaceRoot)).join(', ')}`);
  }
  const { base, inputs, tag } = await describeContainer(opts);
  const outputDir = imageOutputDir(workspaceRoot, imageName, arch);
  const inDist = await existingOutput(outputDir, tag.ref);
  // What dist/ holds for this exact tag is the image: no engine needed unless publishing.
  if (inDist && !publish) return upToDate(inDist);

  const engine = opts.engine ?? (await connectDocker(env));
  const { docker } = engine;
  const common = { name: imageName, ref: tag.ref, tag: tag.tag, hash: tag.hash, arch, inputs };
  let metadata: ImageMetadata;
  const inEngine = await inspectLocalImage(docker, tag.ref, arch);
  // The engine is shared (other clones, other days): its copy of the tag is reused only when it
  // is the image dist/ recorded for that tag; otherwise dist/'s copy replaces it.
  const engineMatches = inEngine && (!inDist || inDist.imageId === inEngine.id);
  if (inEngine && !engineMatches) log.warn(`${imageName}: the Docker engine's ${tag.ref} is ${inEngine.id}, not the ${inDist?.imageId} recorded in dist/; loading dist/'s copy`);
  if (engineMatches) {
    log.info(`${imageName}: ${tag.ref} is in the Docker engine; reusing it`);
    metadata = inDist ?? (await saveImageOutput(docker, outputDir, { ...common, source: 'local' }, await reusedImagePackages(engine, opts, tag, base.tag.ref)));
  } else if (inDist) {
    await loadImage(docker, await dockerArchiveFromLayout(await OciLayout.open(outputDir), tag.ref, tag.ref));
    if (inEngine) await removeIfUntagged(docker, inEngine.id);
    metadata = { ...inDist, source: 'dist' };
  } else if (await tryPullImage(docker, tag.ref, arch, env)) {
    metadata = await saveImageOutput(docker, outputDir, { ...common, source: 'pulled' });
  } else {
    if (!setting(env, 'DO_BUILD_LK_CONTAINERS')) {
      throw new UserError(`${imageName}: ${tag.ref} is not in the Docker engine and cannot be pulled, and DO_BUILD_LK_CONTAINERS=no forbids building it: unset DO_BUILD_LK_CONTAINERS, or publish the image first (DO_PUSH=yes)`);
    }
    const baseImage = await ensureBaseImage(engine, workspaceRoot, arch, env);
    if (baseImage.ref !== base.tag.ref) throw new Error(`base image ${baseImage.ref} is not the expected ${base.tag.ref}`);
    // RUN steps for another architecture need qemu-user on the engine's host; say so up front
    // when that host is this one.
    if (arch !== engine.arch && engine.endpoint.host.startsWith('unix://')) await ensureForeignArch(arch);
    const contextDir = await makeTempDir(`context-${imageName}`);
    let packages: ImagePackages;
    try {
      await fillBuildContext(opts, contextDir);
      const request = { contextDir, ref: tag.ref, arch, buildArgs: { BASE_IMAGE: base.tag.ref }, label: `${imageName} (${arch})`, imageName, tag: tag.tag };
      // One build gives the image and, from its output, the builder stage the SBOM reads.
      packages = await builderStagePackages(docker, engine.arch, request, await buildForArch(docker, engine.arch, request));
    } finally {
      await rm(contextDir, { recursive: true, force: true });
    }
    metadata = await saveImageOutput(docker, outputDir, { ...common, source: 'built' }, packages);
  }
  await publishImage(engine, metadata, env);
  log.info(`${imageName}: ${metadata.ref} (${metadata.source})`);
  return metadata;
}

/**
 * `docker build` for `request.arch`. For another arch than the engine's, without the engine's
 * layer cache: the classic builder's cache ignores the platform, and a FROM scratch stage whose
 * files are the same on every arch (hook-embedded's) got the other arch's image, or once even
 * the builder stage's image, under the tag. A foreign-arch image is built once per change of its
 * inputs (dist/ and Nx's cache keep it), so this costs only the RUN steps of a changed image.
 */
async function buildForArch(docker: Dockerode, engineArch: string, request: BuildRequest): Promise<BuildResult> {
  // The engine may hold the tag for another arch, or an image dist/ did not record: the build
  // moves the tag, and the older image must not stay behind dangling.
  const previous = await imageIdOf(docker, request.ref);
  const built = await buildImage(docker, engineArch, request.arch === engineArch ? request : { ...request, noCache: true });
  const now = await imageIdOf(docker, request.ref);
  if (previous && previous !== now) await removeIfUntagged(docker, previous);
  if (!(await inspectLocalImage(docker, request.ref, request.arch))) {
    throw new UserError(`${request.label}: the Docker engine built ${request.ref} for another architecture than ${request.arch}; check that it builds with --platform linux/${request.arch} (docker version, binfmt_misc)`);
  }
  return built;
}

/** The image's folder, the shared files and (hook-embedded) its Docker storage, in `contextDir`. */
async function fillBuildContext(opts: ContainerTargetOptions, contextDir: string): Promise<void> {
  await cp(join(opts.workspaceRoot, 'images', opts.imageName), contextDir, { recursive: true });
  for (const file of SHARED_CONTEXT_FILES) await copyFile(file, join(contextDir, basename(file)));
  // hook-embedded carries a Docker storage directory with the images its images.txt lists.
  if (opts.imageName === EMBEDDED_IMAGES_FOLDER) await prepareEmbeddedContext(contextDir, opts.arch, opts.env);
}

/**
 * The SBOM packages of an image the engine already has: its tagged builder stage when the engine
 * has it; else the stage built on its own (the engine's layer cache usually still holds it) when
 * the base image is there and building is allowed; else unknown.
 */
async function reusedImagePackages(engine: DockerEngine, opts: ContainerTargetOptions, tag: { ref: string; tag: string }, baseRef: string): Promise<ImagePackages> {
  const tagged = await taggedStagePackages(engine.docker, opts.imageName, tag.tag, opts.arch);
  if (tagged) return tagged;
  if (!setting(opts.env, 'DO_BUILD_LK_CONTAINERS') || !(await inspectLocalImage(engine.docker, baseRef, opts.arch))) return { source: 'unknown' };
  const contextDir = await makeTempDir(`context-${opts.imageName}`);
  try {
    await fillBuildContext(opts, contextDir);
    const label = `${opts.imageName} (${opts.arch})`;
    return await builderStagePackages(engine.docker, engine.arch, { contextDir, ref: tag.ref, arch: opts.arch, buildArgs: { BASE_IMAGE: baseRef }, label, imageName: opts.imageName, tag: tag.tag });
  } finally {
    await rm(contextDir, { recursive: true, force: true });
  }
}

function upToDate(metadata: ImageMetadata): ImageMetadata {
  log.info(`${metadata.name}: ${metadata.ref} is up to date in dist/`);
  return { ...metadata, source: 'dist' };
}

async function publishImage(engine: DockerEngine, metadata: ImageMetadata, env: NodeJS.ProcessEnv): Promise<void> {
  if (setting(env, 'DO_PUSH')) await pushImage(engine.docker, metadata.ref, env);
  if (setting(env, 'EXPORT_LK_CONTAINERS')) {
    const dir = setting(env, 'EXPORT_LK_CONTAINERS_DIR');
    await mkdir(dir, { recursive: true });
    await exportImageTarGz(engine.docker, metadata.ref, join(dir, `${metadata.name}-${metadata.tag}.tar.gz`));
  }
}

/**
 * An image another build runs FROM, as its own Nx target left it in dist/ (image.json and the
 * OCI layout), loaded into the engine when the engine does not have it. A user error naming
 * the target to run when it is not built.
 */
export async function imageFromDist(engine: DockerEngine, workspaceRoot: string, name: string, arch: DockerArch): Promise<ImageMetadata> {
  const metadata = await requireImageJson(workspaceRoot, name, arch);
  if (!(await inspectLocalImage(engine.docker, metadata.ref, arch))) {
    log.info(`${name}: loading ${metadata.ref} into the Docker engine from dist/`);
    // Nx restores a cached layout unchecked: a corrupted blob fails here, naming the target.
    await verifyImageLayout(workspaceRoot, imageOutputDir(workspaceRoot, name, arch), `${name}:build-${arch}`);
    const layout = await OciLayout.open(imageOutputDir(workspaceRoot, name, arch));
    await loadImage(engine.docker, await dockerArchiveFromLayout(layout, metadata.ref, metadata.ref));
  }
  return metadata;
}

/** `hook linuxkit-containers`: the base image, then every image folder, for one architecture. */
export async function buildAllContainers(opts: { workspaceRoot: string; arch: DockerArch; env: NodeJS.ProcessEnv }): Promise<ImageMetadata[]> {
  const engine = await connectDocker(opts.env);
  const results: ImageMetadata[] = [await buildContainerTarget({ ...opts, imageName: BASE_IMAGE_NAME, engine })];
  for (const imageName of await listImageFolders(opts.workspaceRoot)) {
    results.push(await buildContainerTarget({ ...opts, imageName, engine }));
  }
  for (const r of results) log.info(`${r.name.padEnd(16)} ${r.ref}  ${(r.size / 1024 / 1024).toFixed(1)} MiB  (${r.source})`);
  return results;
}
