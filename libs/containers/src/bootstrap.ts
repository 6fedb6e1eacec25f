/**
 * Bootstrapping a Debian root filesystem from the host's mirror when no registry has the base
 * image: `mmdebstrap --variant=minbase`, then made reproducible (no apt lists, caches, logs or
 * machine id; every mtime SOURCE_DATE_EPOCH; entries sorted) and packed as one uncompressed tar
 * layer. Other architectures run through qemu-user (binfmt_misc).
 */
import { access, mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError, log } from '@hook/log';
import { hasCommand, run } from '@hook/process';
import { type DockerArch, hostDockerArch } from '@hook/layout';

export interface BootstrapRequest {
  suite: string;
  variant: string;
  arch: DockerArch;
  mirror: string;
  /** Extra packages (`--include`). */
  packages: string[];
  /** mtime of every file in the tar. */
  sourceDateEpoch: number;
  /** Where to put the tar. */
  tarPath: string;
}

export interface BootstrapResult {
  /** `package=version` of every installed package, sorted. */
  packages: string[];
}

const QEMU_BINFMT: Record<DockerArch, string> = { amd64: 'qemu-x86_64', arm64: 'qemu-aarch64' };
const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

/**
 * Makes sure binaries of `arch` run on this host (binfmt_misc with qemu-user-static, registered
 * with the F flag so it works inside chroots and containers too).
 */
export async function ensureForeignArch(arch: DockerArch): Promise<void> {
  if (arch === hostDockerArch()) return;
  const hint = `apt-get install qemu-user-static binfmt-support, then: mount -t binfmt_misc binfmt_misc ${BINFMT_DIR}; update-binfmts --enable ${QEMU_BINFMT[arch]}`;
  const exists = (path: string) => access(path).then(() => true, () => false);
  if (!(await exists(join(BINFMT_DIR, 'status')))) {
    await run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_DIR], { allowFailure: true });
  }
  const entry = join(BINFMT_DIR, QEMU_BINFMT[arch]);
  if (!(await exists(entry)) && (await hasCommand('update-binfmts'))) {
    await run('update-binfmts', ['--enable', QEMU_BINFMT[arch]], { allowFailure: true });
  }
  const text = await readFile(entry, 'utf8').catch(() => '');
  if (!text.startsWith('enabled')) {
    throw new UserError(`building ${arch} images on this ${hostDockerArch()} host needs qemu-user emulation, which is not available: ${hint}`);
  }
  if (!/^flags:.*F/m.test(text)) {
    throw new UserError(`${entry} is registered without the F flag, so it will not work inside containers: use Debian's qemu-user-static (${hint})`);
  }
}

/**
 * Runs mmdebstrap into a temporary directory and packs the result into `tarPath`. mmdebstrap, not
 * debootstrap: it downloads with the host's apt in parallel and unpacks in one dpkg call, so the
 * same minbase system takes 12 s instead of 19 s here, on the critical path of a fresh build.
 */
export async function bootstrapDebianTar(request: BootstrapRequest): Promise<BootstrapResult> {
  if (process.getuid?.() !== 0) {
    throw new UserError('bootstrapping the Debian base image needs root (mmdebstrap): run as root, or make the base image pullable (HOOK_DEBIAN_BASE_IMAGE)');
  }
  if (!(await hasCommand('mmdebstrap'))) throw new UserError('bootstrapping the Debian base image needs mmdebstrap: apt-get install mmdebstrap');
  await ensureForeignArch(request.arch);
  if (request.arch !== hostDockerArch() && !(await hasCommand('arch-test'))) {
    throw new UserError(`bootstrapping the Debian base image for ${request.arch} needs arch-test (mmdebstrap checks with it that ${request.arch} binaries run): apt-get install arch-test`);
  }
  const work = await mkdtemp(join(tmpdir(), 'hook-debian-base-'));
  const rootfs = join(work, 'rootfs');
  try {
    const args = ['--quiet', `--variant=${request.variant}`, `--architectures=${request.arch}`];
    if (request.packages.length > 0) args.push(`--include=${request.packages.join(',')}`);
    // Measured here (2 cores, quiet): 12 s natively, 95 s for arm64 under qemu-user (debootstrap: 19 s and about 5 minutes).
    const takes = request.arch === hostDockerArch() ? 'under a minute' : 'about 2 minutes under emulation';
    log.info(`bootstrapping Debian ${request.suite} (${request.variant}, ${request.arch}) from ${request.mirror}; this takes ${takes}`);
    const started = Date.now();
    await run('mmdebstrap', [...args, request.suite, rootfs, request.mirror], { timeoutMs: 30 * 60_000, env: { ...process.env, LC_ALL: 'C' } });
    log.info(`mmdebstrap done in ${((Date.now() - started) / 1000).toFixed(0)}s`);
    await makeReproducible(rootfs);
    const { stdout } = await run('chroot', [rootfs, 'dpkg-query', '-W', '-f', '${Package}=${Version}\\n']);
    await packRootfs(rootfs, request.tarPath, request.sourceDateEpoch);
    return { packages: stdout.split('\n').filter(Boolean).sort() };
  } finally {
    await cleanUp(work, rootfs);
  }
}

/** Removes what differs from one bootstrap to the next and what a container image never needs. */
async function makeReproducible(rootfs: string): Promise<void> {
  const emptyDir = async (dir: string, keep: (name: string) => boolean = () => false) => {
    const names = await readdir(join(rootfs, dir)).catch(() => [] as string[]);
    for (const name of names) if (!keep(name)) await rm(join(rootfs, dir, name), { recursive: true, force: true });
  };
  await emptyDir('var/lib/apt/lists', (n) => n === 'partial' || n === 'auxfiles');
  await emptyDir('var/lib/apt/lists/partial');
  await emptyDir('var/cache/apt', (n) => n === 'archives');
  await emptyDir('var/cache/apt/archives', (n) => n === 'partial');
  await emptyDir('var/log');
  await emptyDir('tmp');
  await emptyDir('var/tmp');
  for (const file of ['var/cache/ldconfig/aux-cache', 'var/lib/dbus/machine-id', 'etc/hostname', 'var/lib/systemd/random-seed']) {
    await rm(join(rootfs, file), { force: true });
  }
  // An empty machine-id, as in Debian's official images; the real one is made at boot.
  await writeFile(join(rootfs, 'etc/machine-id'), '');
  // Documentation is never needed in a HookOS image: keep dpkg from installing it in builds.
  await mkdir(join(rootfs, 'etc/dpkg/dpkg.cfg.d'), { recursive: true });
  await writeFile(
    join(rootfs, 'etc/dpkg/dpkg.cfg.d/hook-slim'),
    ['path-exclude /usr/share/doc/*', 'path-include /usr/share/doc/*/copyright', 'path-exclude /usr/share/man/*', 'path-exclude /usr/share/info/*', 'path-exclude /usr/share/locale/*', ''].join('\n'),
  );
  // apt in later build steps: no recommends, and clean up after itself.
  await writeFile(join(rootfs, 'etc/apt/apt.conf.d/99hook'), 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n');
}

async function packRootfs(rootfs: string, tarPath: string, epoch: number): Promise<void> {
  await run('tar', [
    '--sort=name',
    `--mtime=@${epoch}`,
    '--numeric-owner',
    '--xattrs',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '--format=posix',
    '-C',
    rootfs,
    '-cf',
    tarPath,
    '.',
  ], { env: { ...process.env, LC_ALL: 'C' } });
}

/** A killed mmdebstrap leaves proc/sys mounted in the rootfs: unmount before deleting. */
async function cleanUp(work: string, rootfs: string): Promise<void> {
  const mounts = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  const inside = mounts
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point.startsWith(`${rootfs}/`))
    .sort()
    .reverse();
  for (const point of inside) await run('umount', ['-l', point], { allowFailure: true });
  await rm(work, { recursive: true, force: true });
}
