/**
 * KERNEL_BUILDER=container: make runs in the kernel builder image (kernel/Dockerfile FROM the
 * project's Debian base, native and cross toolchains for x86_64 and arm64), one container per
 * make step. The source, object, ccache and stage directories are bind-mounted at the same
 * absolute paths as on the host, so every path the host code computes stays valid, and make
 * runs as the invoking uid:gid so the files are owned as after a host build.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@hook/process';
import { PassThrough } from 'node:stream';
import { buildImage, imageFromDist, inspectLocalImage } from '@hook/containers';
import { BASE_IMAGE_NAME, hostDockerArch } from '@hook/layout';
import { type DockerEngine, connectDocker } from '@hook/docker';
import { UserError, log } from '@hook/log';
import { MakeFailed, type MakeRunner } from './build';
import { setting } from '@hook/settings';

export type KernelBuilder = 'host' | 'container';

export const BUILDER_IMAGE_NAME = 'hook-kernel-builder';


/** `hook-kernel-builder:<first 12 hex of sha256(Dockerfile + base image ref)>`. */
export function builderImageRef(dockerfile: string | Buffer, baseRef: string): string {
  const hash = createHash('sha256').update(dockerfile).update('\n').update(baseRef).digest('hex');
  return `${BUILDER_IMAGE_NAME}:${hash.slice(0, 12)}`;
}

/**
 * Which builder to use: KERNEL_BUILDER when set; otherwise the container when a Docker engine
 * answers, the host when none does (one log line says which and why).
 */
export async function chooseBuilder(env: NodeJS.ProcessEnv, connect = connectDocker): Promise<{ builder: KernelBuilder; engine?: DockerEngine }> {
  const wanted = setting(env, 'KERNEL_BUILDER');
  if (wanted === 'host') {
    log.info('kernel builder: host (KERNEL_BUILDER=host)');
    return { builder: 'host' };
  }
  if (wanted === 'container') {
    try {
      const engine = await connect(env);
      log.info(`kernel builder: container (KERNEL_BUILDER=container; Docker engine at ${engine.endpoint.host})`);
      return { builder: 'container', engine };
    } catch (error) {
      throw new UserError(`KERNEL_BUILDER=container needs a Docker engine: ${(error as Error).message}; start dockerd (systemctl start docker) or use KERNEL_BUILDER=host`);
    }
  }
  try {
    const engine = await connect(env, 3000);
    log.info(`kernel builder: container (the Docker engine at ${engine.endpoint.host} answers; KERNEL_BUILDER=host builds on the host)`);
    return { builder: 'container', engine };
  } catch (error) {
    log.info(`kernel builder: host (no usable Docker engine: ${(error as Error).message.split('\n')[0]})`);
    return { builder: 'host' };
  }
}

/**
 * The builder image in the engine: reused when its tag is there, else built from
 * kernel/Dockerfile FROM the Debian base. The base is not made here: it is the kernel target's
 * Nx dependency (debian-base:build-<host arch>), whose image.json names the tag, so the base's
 * tag is in the kernel's hash and a new base rebuilds the kernel.
 */
export async function ensureBuilderImage(engine: DockerEngine, workspaceRoot: string): Promise<string> {
  const arch = hostDockerArch();
  const dockerfilePath = join(workspaceRoot, 'kernel', 'Dockerfile');
  const dockerfile = await readFile(dockerfilePath);
  const base = await imageFromDist(engine, workspaceRoot, BASE_IMAGE_NAME, arch);
  const ref = builderImageRef(dockerfile, base.ref);
  if (await inspectLocalImage(engine.docker, ref)) {
    log.info(`kernel builder image ${ref} is in the Docker engine; reusing it`);
    return ref;
  }
  // The build context is the Dockerfile alone (kernel/ also holds configs and keys).
  const context = await makeTempDir('kernel-builder');
  try {
    await copyFile(dockerfilePath, join(context, 'Dockerfile'));
    await buildImage(engine.docker, engine.arch, { contextDir: context, ref, arch, buildArgs: { BASE_IMAGE: base.ref }, label: 'kernel builder' });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  log.info(`kernel builder image ${ref} built FROM ${base.ref}`);
  return ref;
}

/** The container's settings for one make command (exported for the unit test). */
export function containerSpec(image: string, command: { argv: string[]; cwd: string; env: Record<string, string> }, mounts: string[]) {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return {
    Image: image,
    Cmd: ['sh', '-c', 'exec "$@" 2>&1', 'sh', ...command.argv],
    WorkingDir: command.cwd,
    Env: Object.entries(command.env).map(([key, value]) => `${key}=${value}`),
    User: `${uid}:${gid}`,
    Tty: false,
    AttachStdout: true,
    AttachStderr: true,
    NetworkDisabled: true,
    HostConfig: { Binds: [...new Set(mounts)].map((dir) => `${dir}:${dir}`), AutoRemove: false },
  };
}

/** A make runner that runs every command in a fresh container of `image`, removed afterwards. */
export function containerRunner(engine: DockerEngine, image: string, mounts: string[]): MakeRunner {
  return async (command, output) => {
    for (const dir of mounts) await mkdir(dir, { recursive: true });
    const { docker } = engine;
    const container = await docker.createContainer(containerSpec(image, command, mounts));
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const merged = new PassThrough();
      merged.on('data', (chunk: Buffer) => output.write(chunk));
      docker.modem.demuxStream(stream, merged, merged);
      const ended = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      await container.start();
      const result = (await container.wait()) as { StatusCode: number };
      // The output stream ends with the container; do not hang if the engine leaves it open.
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
      if (result.StatusCode !== 0) throw new MakeFailed(`${command.argv.join(' ')} exited with code ${result.StatusCode} in ${image}`);
    } finally {
      await container.remove({ force: true }).catch((error: Error) => log.debug(`removing the make container: ${error.message}`));
    }
  };
}
