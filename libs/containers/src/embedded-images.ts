/**
 * Embedded images (images/hook-embedded, upstream Hook's mechanism): the images listed in
 * images.txt are loaded at build time into a Docker storage directory (a dockerd of our own with
 * that data-root, overlay2 as in HookOS). At boot /etc/init.d/001-images-mount.sh puts it in
 * /run/embedded-images and bind-mounts that on /var/run/images, which hook-docker binds as
 * /var/lib/docker: the images are there before anything is pulled.
 *
 * Unlike upstream, the image carries the storage as one tar file (/etc/embedded-images.tar) that
 * the boot script unpacks: overlay2 marks deleted files with 0:0 character devices,
 * which neither a Docker build context nor a COPY onto the build's overlay can carry, and which
 * would otherwise come back at boot as the files they deleted.
 *
 * images.txt, upstream's format: one image a line, `<source image>[ <additional tag>]`, one space
 * between. Empty lines and lines starting with # are skipped here. Each image comes from the
 * build host's Docker engine when it has it for the architecture, else from its registry
 * (`docker pull --platform linux/<arch>`).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError, log } from '@hook/log';
import { run, spawnFilter } from '@hook/process';

export const EMBEDDED_IMAGES_FOLDER = 'hook-embedded';
/** The storage tarball in hook-embedded's build context (COPY'd to /etc/embedded-images.tar). */
export const EMBEDDED_STORAGE_TAR = 'embedded-images.tar';

export interface EmbeddedImage {
  source: string;
  /** The additional tag, e.g. `127.0.0.1/embedded/actions/cexec`. */
  tag?: string;
}

export function parseImagesTxt(text: string, file = 'images.txt'): EmbeddedImage[] {
  const images: EmbeddedImage[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    if (fields.length > 2) {
      throw new UserError(`${file}:${index + 1}: "${line}" has ${fields.length} fields; write "<source image>[ <additional tag>]"`);
    }
    images.push(fields[1] ? { source: fields[0], tag: fields[1] } : { source: fields[0] });
  });
  return images;
}

export interface EmbeddedStorageOptions {
  images: EmbeddedImage[];
  /** Docker architecture (amd64, arm64). */
  arch: string;
  /** The Docker data-root to fill; created if missing. */
  storageDir: string;
  /** The build host's engine the images may come from (DOCKER_HOST etc.). */
  env?: NodeJS.ProcessEnv;
}

/** Loads the images into storageDir with a dockerd of its own, then stops that dockerd. */
export async function buildEmbeddedStorage(options: EmbeddedStorageOptions): Promise<void> {
  const { images, arch, storageDir } = options;
  const hostEnv = options.env ?? process.env;
  await mkdir(storageDir, { recursive: true });
  const stateDir = await mkdtemp(join(tmpdir(), 'hook-embedded-dockerd-'));
  const socket = join(stateDir, 'docker.sock');
  const storageEnv = { ...hostEnv, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(stateDir, 'cli') };
  // Never --bridge=none: a dockerd with the bridge disabled deletes the host engine's docker0 at
  // start (moby's removeDefaultBridgeInterface), and every other build on the machine then fails.
  const bridge = await createStorageBridge(stateDir);
  // The daemon lives while our end of its wrapper's stdin is open; timeout bounds it.
  const wrapper = [
    'state=$1 data=$2 bridge=$3',
    'timeout -k 10 3600 dockerd --data-root "$data" --exec-root "$state/exec" --pidfile "$state/docker.pid" --host "unix://$state/docker.sock" \\',
    '  --storage-driver overlay2 --bridge="$bridge" --iptables=false --ip6tables=false >"$state/dockerd.log" 2>&1 </dev/null & pid=$!',
    'cat >/dev/null',
    'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 0',
  ].join('\n');
  const daemon = await spawnFilter('sh', ['-c', wrapper, 'embedded-dockerd', stateDir, storageDir, bridge]);
  daemon.stdout.resume();
  try {
    const deadline = Date.now() + 60_000;
    while ((await run('docker', ['version', '--format', '{{.Server.Version}}'], { env: storageEnv, allowFailure: true, timeoutMs: 10_000 })).exitCode !== 0) {
      if (Date.now() > deadline) {
        const tail = (await readFile(join(stateDir, 'dockerd.log'), 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
        throw new Error(`the dockerd for the embedded images did not start: ${tail}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    for (const image of images) {
      const local = await run('docker', ['image', 'inspect', '--format', '{{.Architecture}}', image.source], { env: hostEnv, allowFailure: true });
      if (local.exitCode === 0 && local.stdout.trim() === arch) {
        log.info(`embedded images: ${image.source} from the Docker engine`);
        await run('sh', ['-c', 'docker save "$1" | DOCKER_HOST="$2" docker load >/dev/null', 'embedded-save', image.source, storageEnv.DOCKER_HOST], { env: hostEnv });
      } else {
        log.info(`embedded images: pulling ${image.source} (linux/${arch})`);
        const pulled = await run('docker', ['pull', '--platform', `linux/${arch}`, image.source], { env: storageEnv, allowFailure: true });
        if (pulled.exitCode !== 0) {
          throw new UserError(`embedded images: ${image.source} is not in the Docker engine for ${arch} and cannot be pulled (${pulled.stderr.trim().split('\n').pop()}); pull or build it first, or remove it from images/hook-embedded/images.txt`);
        }
      }
      if (image.tag) await run('docker', ['tag', image.source, image.tag], { env: storageEnv });
    }
  } finally {
    daemon.stdin.end();
    await daemon.done.catch(() => undefined);
    // A dockerd that did not shut down cleanly can leave its data-root mounted.
    await run('sh', ['-c', 'grep -o " $1[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done', 'unmount', storageDir], { allowFailure: true });
    await rm(stateDir, { recursive: true, force: true });
    await run('ip', ['link', 'delete', bridge], { allowFailure: true });
  }
}

/** A bridge for the storage dockerd: a free /24 in 10.232.0.0/16 (it runs no containers). */
async function createStorageBridge(stateDir: string): Promise<string> {
  const name = `hke${stateDir.slice(-6)}`;
  const inUse = (await run('ip', ['-4', '-o', 'addr', 'show'])).stdout;
  const subnet = Array.from({ length: 254 }, (_, i) => i + 1).find((n) => !inUse.includes(` 10.232.${n}.`));
  if (subnet === undefined) throw new Error('no free /24 in 10.232.0.0/16 for the embedded images dockerd');
  await run('ip', ['link', 'add', name, 'type', 'bridge']);
  try {
    await run('ip', ['addr', 'add', `10.232.${subnet}.1/24`, 'dev', name]);
    await run('ip', ['link', 'set', name, 'up']);
  } catch (error) {
    await run('ip', ['link', 'delete', name], { allowFailure: true });
    throw error;
  }
  return name;
}

/** The storage as a tar (numeric owners, devices, empty directories, xattrs kept). */
export async function packEmbeddedStorage(storageDir: string, tarPath: string): Promise<void> {
  await run('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=trusted.*', '--sort=name', '-C', storageDir, '-cf', tarPath, '.']);
}

/**
 * hook-embedded's build context: embedded-images.tar with the images images.txt lists, or an
 * empty file when it lists none (the default: no dockerd is started then).
 */
export async function prepareEmbeddedContext(contextDir: string, arch: string, env: NodeJS.ProcessEnv): Promise<void> {
  const images = parseImagesTxt(await readFile(join(contextDir, 'images.txt'), 'utf8').catch(() => ''), 'images/hook-embedded/images.txt');
  const tarPath = join(contextDir, EMBEDDED_STORAGE_TAR);
  if (images.length === 0) {
    await writeFile(tarPath, '');
    return;
  }
  const storageDir = await mkdtemp(join(tmpdir(), 'hook-embedded-storage-'));
  try {
    await buildEmbeddedStorage({ images, arch, storageDir, env });
    await packEmbeddedStorage(storageDir, tarPath);
  } finally {
    await rm(storageDir, { recursive: true, force: true });
  }
}
