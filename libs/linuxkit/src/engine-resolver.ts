/**
 * Images from the local Docker engine (the one `docker` talks to: DOCKER_HOST, the current
 * context, else the default socket). An image the engine has for the wanted architecture is
 * `docker save`d into a temp OCI layout and served from there like a dist/ layout. No engine is
 * not an error: the resolver then has no images and the chain asks the next source.
 */
import type { Readable } from 'node:stream';
import { log } from '@hook/log';
import { type DockerEngine, connectDocker } from '@hook/docker';
import { formatPlatform, importDockerArchive, normalizePlatform, type Platform } from '@hook/oci';
import { CopyingResolver } from './copying-resolver';
import { type ImageSource, layoutImageSource } from './resolver';

export interface DockerEngineResolverOptions {
  /** Where to find the engine (DOCKER_HOST, DOCKER_CONTEXT, DOCKER_CONFIG ...); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the engine to answer; default 5 s. */
  connectTimeoutMs?: number;
  /** An engine already connected (tests); skips the lookup. */
  engine?: DockerEngine;
  /** Parent of the temp layout; default the OS temp dir. */
  tempDir?: string;
}

export class DockerEngineResolver extends CopyingResolver {
  readonly description = 'the local Docker engine';
  private engine?: Promise<DockerEngine | undefined>;

  constructor(private readonly options: DockerEngineResolverOptions = {}) {
    super(options.tempDir, 'hook-engine-images-');
  }

  protected async copy(ref: string, platform: Platform): Promise<ImageSource | undefined> {
    const engine = await this.connect();
    if (!engine) return undefined;
    const image = engine.docker.getImage(ref);
    let info: { Architecture?: string; Os?: string; Variant?: string; Id?: string };
    try {
      info = await image.inspect();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
    const actual = normalizePlatform({ os: info.Os || 'linux', architecture: info.Architecture || '?' });
    const wanted = normalizePlatform(platform);
    if (actual.os !== wanted.os || actual.architecture !== wanted.architecture) {
      log.info(`the Docker engine has ${ref} for ${formatPlatform(actual)}, not ${formatPlatform(wanted)}; not using it`);
      return undefined;
    }
    log.info(`taking ${ref} from the Docker engine (docker save)`);
    const layout = await this.tempLayout();
    const archive = (await image.get()) as unknown as Readable;
    await importDockerArchive(archive, layout, { refName: ref, label: `docker save ${ref}` });
    // The layout copy is the one arch-checked above (no platform filter: requireImage reports a mismatch).
    return layoutImageSource(layout, ref, ref, undefined, `Docker engine at ${engine.endpoint.host}`);
  }

  private connect(): Promise<DockerEngine | undefined> {
    if (this.options.engine) return Promise.resolve(this.options.engine);
    this.engine ??= connectDocker(this.options.env ?? process.env, this.options.connectTimeoutMs ?? 5_000).then(
      (engine) => engine,
      (error: unknown) => {
        log.debug(`not looking for images in a Docker engine: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      },
    );
    return this.engine;
  }
}
