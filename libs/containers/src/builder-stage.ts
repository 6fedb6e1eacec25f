/**
 * The Debian packages an image's files come from, for its SBOM. Every Dockerfile copies what the
 * image needs out of a Debian stage named `builder` into /out; the final stage is FROM scratch,
 * so the image itself has no dpkg database. The image build's own output names the stage's
 * image (engine-images.ts, StageTracker); it is tagged `hook-builder/<image>:<hash8>-<arch>`
 * (local only, never pushed) and its /var/lib/dpkg/status and info/*.list are read through a
 * container that is created, never started, and removed. Nothing of it enters the image or the
 * initramfs.
 *
 * The tag keeps the stage from dangling, and keeps its parent chain, which on the engine's own
 * arch is the layer cache of the next build (the apt steps). Tagging a new stage removes the
 * image's older stage for the same arch (`rmi` without force: layers the new stage shares stay).
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import { extract as tarExtract } from 'tar-stream';
import { log } from '@hook/log';
import { DPKG_INFO_DIR, DPKG_STATUS_PATH, dpkgDatabase, type DpkgDatabase } from '@hook/sbom';
import { type BuildRequest, type BuildResult, buildImage, imageIdOf, inspectLocalImage, removeIfUntagged } from './engine-images';
import type { ImagePackages } from './output';
import { builderStageRef, builderStageRepo } from './tag';

export { builderStageRef, builderStageRepo } from './tag';

/** The stage name the Dockerfiles give their Debian stage. */
export const BUILDER_STAGE = 'builder';

/** Files of a tar stream whose names pass `wanted`, as text (name without leading ./ or /). */
async function readTarTexts(stream: Readable, wanted: (name: string) => boolean): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  const extract = tarExtract();
  extract.on('entry', (header, entry, next) => {
    const name = header.name.replace(/^\.?\/+/, '');
    const chunks: Buffer[] = [];
    entry.on('data', (chunk: Buffer) => {
      if (header.type === 'file' && wanted(name)) chunks.push(chunk);
    });
    entry.on('end', () => {
      if (chunks.length || (header.type === 'file' && wanted(name))) texts.set(name, Buffer.concat(chunks).toString('utf8'));
      next();
    });
  });
  await pipeline(stream, extract);
  return texts;
}

/** The dpkg database of an image (or stage) in the engine, read from a container never started. */
export async function dpkgDatabaseOfImage(docker: Dockerode, image: string): Promise<DpkgDatabase> {
  const container = await docker.createContainer({ Image: image, Cmd: ['true'], NetworkDisabled: true, Labels: { 'hook.purpose': 'sbom' } });
  try {
    // getArchive names members after the requested path's last component.
    const status = await readTarTexts((await container.getArchive({ path: `/${DPKG_STATUS_PATH}` })) as unknown as Readable, (name) => name === 'status');
    const lists = await readTarTexts((await container.getArchive({ path: `/${DPKG_INFO_DIR}` })) as unknown as Readable, (name) => name.endsWith('.list'));
    return dpkgDatabase(status.get('status') ?? '', lists);
  } finally {
    await container.remove({ force: true }).catch((error: Error) => log.debug(`removing the SBOM container of ${image}: ${error.message}`));
  }
}

/** The builder stage's full image ID from a build's output, when the engine still has it. */
async function stageImageOf(docker: Dockerode, built: BuildResult): Promise<string | undefined> {
  const short = built.stages.find((stage) => stage.name === BUILDER_STAGE)?.image;
  if (!short) return undefined;
  try {
    return (await docker.getImage(short).inspect()).Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/**
 * Tags `imageId` as the image's builder stage for `tag`, then removes its stages of other tags
 * for the same arch. Several clones may share an engine: another clone's stage of this image
 * goes too, which costs that clone only the steps its next build does not share.
 */
export async function keepBuilderStage(docker: Dockerode, imageName: string, tag: string, imageId: string): Promise<string> {
  const ref = builderStageRef(imageName, tag);
  // The same tag built again (another arch's builds run without the cache) moves to a new image.
  const previous = await imageIdOf(docker, ref);
  await docker.getImage(imageId).tag({ repo: builderStageRepo(imageName), tag });
  if (previous && previous !== imageId) await removeIfUntagged(docker, previous);
  const arch = tag.slice(tag.lastIndexOf('-'));
  const images = await docker.listImages({ filters: JSON.stringify({ reference: [builderStageRepo(imageName)] }) });
  for (const image of images) {
    for (const old of image.RepoTags ?? []) {
      if (old === ref || !old.startsWith(`${builderStageRepo(imageName)}:`) || !old.endsWith(arch)) continue;
      await docker
        .getImage(old)
        .remove()
        .then(() => log.debug(`${imageName}: removed the older builder stage ${old}`))
        .catch((error: Error) => log.debug(`${imageName}: keeping ${old}: ${error.message}`));
    }
  }
  return ref;
}

/** The packages of the image's tagged builder stage, if the engine has it (reuse without a build). */
export async function taggedStagePackages(docker: Dockerode, imageName: string, tag: string, arch: BuildRequest['arch']): Promise<ImagePackages | undefined> {
  const ref = builderStageRef(imageName, tag);
  if (!(await inspectLocalImage(docker, ref, arch))) return undefined;
  return readStagePackages(docker, ref, `${imageName} (${arch})`);
}

async function readStagePackages(docker: Dockerode, ref: string, label: string): Promise<ImagePackages> {
  try {
    return { dpkg: await dpkgDatabaseOfImage(docker, ref), source: 'builder-stage' };
  } catch (error) {
    log.warn(`${label}: the SBOM lists no Debian packages: reading the ${BUILDER_STAGE} stage's dpkg database (${ref}) failed: ${(error as Error).message.split('\n')[0]}`);
    return { source: 'unknown' };
  }
}

export interface StageRequest extends BuildRequest {
  /** The image folder's name. */
  imageName: string;
  /** The image's tag, `<hash8>-<arch>`. */
  tag: string;
}

/**
 * The packages of the builder stage of the image `request` built: the stage `built` names (the
 * same build), tagged and read. Without `built`, or when its output names no stage the engine
 * has (a warning), the stage is built on its own (`--target builder`; the engine's layer cache
 * answers on its own arch), tagged the same way. `unknown` with a warning when that fails too.
 */
export async function builderStagePackages(docker: Dockerode, engineArch: string, request: StageRequest, built?: BuildResult): Promise<ImagePackages> {
  try {
    let stage = built && (await stageImageOf(docker, built));
    if (built && !stage) log.warn(`${request.label}: the build's output names no ${BUILDER_STAGE} stage the engine has; building the stage on its own for the SBOM`);
    if (!stage) {
      const ref = builderStageRef(request.imageName, request.tag);
      const previous = await imageIdOf(docker, ref);
      await buildImage(docker, engineArch, { ...request, target: BUILDER_STAGE, targetRef: ref, label: `${request.label} ${BUILDER_STAGE} stage (SBOM)` });
      stage = (await docker.getImage(ref).inspect()).Id;
      if (previous && previous !== stage) await removeIfUntagged(docker, previous);
    }
    return readStagePackages(docker, await keepBuilderStage(docker, request.imageName, request.tag, stage), request.label);
  } catch (error) {
    log.warn(`${request.label}: the SBOM lists no Debian packages: reading the ${BUILDER_STAGE} stage's dpkg database failed: ${(error as Error).message.split('\n')[0]}`);
    return { source: 'unknown' };
  }
}
