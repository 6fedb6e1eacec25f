/**
 * The image operations the container build asks of the Docker engine (through dockerode):
 * inspect, pull, build, push, save and load. Progress goes to the log.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type Dockerode from 'dockerode';
import { Progress, UserError, log } from '@hook/log';
import { findCredentials, parseImageReference } from '@hook/oci';
import { listFilesSorted } from './dir-hash';
import type { DockerArch } from '@hook/layout';

export interface LocalImage {
  id: string;
  architecture: string;
  size: number;
}

/** The image with this reference in the engine, if it has it (for the wanted architecture). */
export async function inspectLocalImage(docker: Dockerode, ref: string, arch?: DockerArch): Promise<LocalImage | undefined> {
  try {
    const info = await docker.getImage(ref).inspect();
    if (arch && info.Architecture !== arch) {
      log.debug(`${ref} in the engine is ${info.Architecture}, not ${arch}`);
      return undefined;
    }
    return { id: info.Id, architecture: info.Architecture, size: info.Size };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** The ID of the image with this reference, whatever its architecture. */
export async function imageIdOf(docker: Dockerode, ref: string): Promise<string | undefined> {
  return inspectLocalImage(docker, ref).then((image) => image?.id);
}

/**
 * Removes the image `id` if it has no tag left (a tag moved to a newer image leaves the older one
 * dangling), without force: an image a container uses, or with children, stays.
 */
export async function removeIfUntagged(docker: Dockerode, id: string): Promise<void> {
  try {
    const info = await docker.getImage(id).inspect();
    if ((info.RepoTags ?? []).length > 0) return;
    await docker.getImage(id).remove();
    log.debug(`removed ${id}, which a newer build's tag left dangling`);
  } catch (error) {
    log.debug(`keeping ${id}: ${(error as Error).message}`);
  }
}

/** Credentials for the reference's registry; empty ones otherwise (the push API needs the header). */
function authFor(ref: string, env: NodeJS.ProcessEnv): Dockerode.AuthConfig {
  const domain = parseImageReference(ref).domain;
  const credentials = findCredentials(domain, env);
  return credentials ? { username: credentials.username, password: credentials.password, serveraddress: domain } : ({} as Dockerode.AuthConfig);
}

/** Follows a pull/push/build JSON stream; rejects on an `error` message. */
function followStream(docker: Dockerode, stream: NodeJS.ReadableStream, onEvent: (event: Record<string, unknown>) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: Array<Record<string, unknown>>) => {
        if (error) return reject(error);
        const failed = events.find((e) => e.error);
        if (failed) return reject(new Error(String(failed.error).trim()));
        resolve();
      },
      onEvent,
    );
  });
}

/** Pulls `ref` for linux/arch; false (with the reason at debug level) when it cannot. */
export async function tryPullImage(docker: Dockerode, ref: string, arch: DockerArch, env: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    const stream = (await docker.pull(ref, { platform: `linux/${arch}`, authconfig: authFor(ref, env) })) as NodeJS.ReadableStream;
    const progress = new Progress(`pulling ${ref}`);
    let events = 0;
    await followStream(docker, stream, () => progress.update(++events, 'events'));
    log.info(`pulled ${ref}`);
    return true;
  } catch (error) {
    log.debug(`cannot pull ${ref}: ${(error as Error).message}`);
    return false;
  }
}

export interface BuildRequest {
  /** The build context: the image folder. */
  contextDir: string;
  ref: string;
  arch: DockerArch;
  buildArgs: Record<string, string>;
  /** Prefix for the build's output lines. */
  label: string;
  /** Build only up to this stage of the Dockerfile. */
  target?: string;
  /** With `target`: the tag it gets (untagged without; `ref` is then only for messages). */
  targetRef?: string;
  /** Run every step again instead of taking layers from the engine's cache. */
  noCache?: boolean;
}

/** A stage of a classic-builder build: its FROM line's name (`AS name`) and the image it ended with. */
export interface BuiltStage {
  name?: string;
  /** The short image ID the builder printed last in the stage (` ---> <id>`). */
  image?: string;
}

export interface BuildResult {
  /** The built image's ID, when the engine said it. */
  imageId?: string;
  /** The stages in Dockerfile order, as the build's output showed them. */
  stages: BuiltStage[];
}

const STEP_FROM = /^Step \d+\/\d+ : FROM\s+(?:--\S+\s+)*\S+(?:\s+AS\s+(\S+))?\s*$/i;
const STEP_IMAGE = /^ ---> ([0-9a-f]{12,64})\s*$/;

/**
 * Follows the classic builder's output lines: each `Step k/M : FROM ...` starts a stage, and the
 * last ` ---> <id>` before the next FROM is the image the stage ended with (a stage the final
 * image does not descend from, such as the builder stage, is otherwise left untagged).
 */
export class StageTracker {
  readonly stages: BuiltStage[] = [];

  line(line: string): void {
    const from = STEP_FROM.exec(line);
    if (from) {
      this.stages.push(from[1] ? { name: from[1].toLowerCase() } : {});
      return;
    }
    const image = STEP_IMAGE.exec(line);
    const current = this.stages[this.stages.length - 1];
    if (image && current) current.image = image[1];
  }
}

/** `docker build` of a folder through the engine API, showing the build's output lines; the image ID and the stages. */
export async function buildImage(docker: Dockerode, engineArch: string, request: BuildRequest): Promise<BuildResult> {
  const files = (await listFilesSorted(request.contextDir, '.')).map((f) => f.slice(2));
  const options: Dockerode.ImageBuildOptions = { buildargs: request.buildArgs, rm: true, forcerm: true, pull: false };
  if (request.target) {
    options.target = request.target;
    if (request.targetRef) options.t = request.targetRef;
  } else options.t = request.ref;
  if (request.noCache) options.nocache = true;
  // The classic builder takes FROM images of another architecture as they are; the platform is
  // only passed when it differs, since older engines accept it only in experimental mode.
  if (request.arch !== engineArch) options.platform = `linux/${request.arch}`;
  const progress = new Progress(`building ${request.label}`);
  const stream = await docker.buildImage({ context: request.contextDir, src: files }, options);
  const lines: string[] = [];
  const stages = new StageTracker();
  let imageId: string | undefined;
  try {
    await followStream(docker, stream, (event) => {
      const aux = event.aux as { ID?: unknown } | undefined;
      if (typeof aux?.ID === 'string') imageId = aux.ID;
      if (typeof event.stream !== 'string') return;
      // eslint-disable-next-line no-control-regex
      for (const line of event.stream.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
        if (!line.trim()) continue;
        stages.line(line);
        lines.push(line);
        if (lines.length > 40) lines.shift();
        // Steps always show; the commands' own output only with DEBUG=yes.
        if (/^Step \d+\/\d+ :/.test(line)) log.info(`${request.label}: ${line}`);
        else log.debug(`${request.label}: ${line}`);
      }
    });
  } catch (error) {
    if (!log.debugEnabled) for (const line of lines.slice(-15)) log.info(`${request.label}: ${line}`);
    throw new UserError(`building ${request.label} (${request.ref}) failed: ${(error as Error).message.split('\n')[0]} (see the build output above; DEBUG=yes shows all of it)`);
  }
  progress.finish();
  return { imageId, stages: stages.stages };
}

export async function pushImage(docker: Dockerode, ref: string, env: NodeJS.ProcessEnv): Promise<void> {
  const image = docker.getImage(ref);
  const stream = (await image.push({ authconfig: authFor(ref, env) })) as NodeJS.ReadableStream;
  const progress = new Progress(`pushing ${ref}`);
  let events = 0;
  try {
    await followStream(docker, stream, () => progress.update(++events, 'events'));
  } catch (error) {
    throw new UserError(`pushing ${ref} failed: ${(error as Error).message} (log in with 'docker login', or set HOOK_LK_CONTAINERS_OCI_BASE to a registry you can push to)`);
  }
  progress.finish();
}

/** `docker save` of one image as a stream. */
export async function saveImage(docker: Dockerode, ref: string): Promise<Readable> {
  return (await docker.getImage(ref).get()) as unknown as Readable;
}

/** `docker load` of an archive stream. */
export async function loadImage(docker: Dockerode, archive: Readable): Promise<void> {
  const stream = (await docker.loadImage(archive, { quiet: true })) as NodeJS.ReadableStream;
  await followStream(docker, stream, () => undefined);
}

/** Upstream's EXPORT_LK_CONTAINERS: `docker save | gzip` to `<dir>/<name>-<tag>.tar.gz`. */
export async function exportImageTarGz(docker: Dockerode, ref: string, path: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  try {
    await pipeline(await saveImage(docker, ref), createGzip(), createWriteStream(temp));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  log.info(`exported ${ref} to ${path}`);
}
