/**
 * The Debian packages an image's files come from, for its SBOM. Every Dockerfile copies what the
 * image needs out of a Debian stage named `builder` into /out; the final stage is FROM scratch,
 * so the image itself has no dpkg database. The builder stage is built once more on its own
 * (the engine's layer cache answers with the very stage the image was built from) and its
 * /var/lib/dpkg/status and info/*.list are read through a container that is created, never
 * started, and removed. Nothing of it enters the image or the initramfs.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import { extract as tarExtract } from 'tar-stream';
import { log } from '@hook/log';
import { DPKG_INFO_DIR, DPKG_STATUS_PATH, dpkgDatabase, type DpkgDatabase } from '@hook/sbom';
import { buildImage, type BuildRequest } from './engine-images';
import type { ImagePackages } from './output';

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

/**
 * The packages of the builder stage of the image `request` builds (same context, same build
 * arguments); `unknown` with a warning when the stage cannot be built or read.
 */
export async function builderStagePackages(docker: Dockerode, engineArch: string, request: BuildRequest): Promise<ImagePackages> {
  try {
    const stage = await buildImage(docker, engineArch, { ...request, target: BUILDER_STAGE, label: `${request.label} ${BUILDER_STAGE} stage (SBOM)` });
    if (!stage) throw new Error('the engine did not say which image the stage is');
    return { dpkg: await dpkgDatabaseOfImage(docker, stage), source: 'builder-stage' };
  } catch (error) {
    log.warn(`${request.label}: the SBOM lists no Debian packages: reading the ${BUILDER_STAGE} stage's dpkg database failed: ${(error as Error).message.split('\n')[0]}`);
    return { source: 'unknown' };
  }
}
