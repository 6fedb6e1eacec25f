/**
 * Building a kernel from a prepared source tree: defconfig -> `make olddefconfig`, then the
 * image, modules and (arm64) dtbs, in a persistent object directory with ccache so a rebuild
 * after a small config change reuses almost everything.
 */
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { arch as hostArch, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Progress, UserError, log } from '@hook/log';
import { hasCommand, run, spawnFilter } from '@hook/process';
import type { Arch } from '@hook/inventory';
import { exists } from './files';
import { sourceDateEpoch } from './paths';

export interface MakeContext {
  sourceDir: string;
  objectDir: string;
  arch: Arch;
  env: NodeJS.ProcessEnv;
  ccacheDir: string;
}

export function kernelArchOf(arch: Arch): string {
  return arch === 'x86_64' ? 'x86_64' : 'arm64';
}

export function imagePathOf(arch: Arch): string {
  return arch === 'x86_64' ? 'arch/x86/boot/bzImage' : 'arch/arm64/boot/Image';
}

function crossCompilePrefix(arch: Arch): string {
  const host = hostArch() === 'arm64' ? 'aarch64' : 'x86_64';
  if (arch === host) return '';
  return arch === 'aarch64' ? 'aarch64-linux-gnu-' : 'x86_64-linux-gnu-';
}

/** The tools a host build needs, with the Debian packages that provide them. */
export async function checkHostTools(arch: Arch): Promise<void> {
  const cross = crossCompilePrefix(arch);
  const needed: [string, string][] = [
    ['make', 'build-essential'],
    [`${cross}gcc`, cross ? (arch === 'aarch64' ? 'gcc-aarch64-linux-gnu' : 'gcc-x86-64-linux-gnu') : 'build-essential'],
    ['bc', 'bc'],
    ['bison', 'bison'],
    ['flex', 'flex'],
    ['depmod', 'kmod'],
  ];
  const missing: string[] = [];
  for (const [command, pkg] of needed) if (!(await hasCommand(command))) missing.push(pkg);
  if (!(await exists('/usr/include/openssl/ssl.h'))) missing.push('libssl-dev');
  if (!(await exists('/usr/include/libelf.h'))) missing.push('libelf-dev');
  if (missing.length) {
    throw new UserError(`building a kernel on the host needs: apt-get install ${[...new Set(missing)].join(' ')} (or use KERNEL_BUILDER=container)`);
  }
}

function makeArgs(ctx: MakeContext): string[] {
  const cross = crossCompilePrefix(ctx.arch);
  const args = [`O=${ctx.objectDir}`, `ARCH=${kernelArchOf(ctx.arch)}`, `-j${jobs(ctx.env)}`];
  if (cross) args.push(`CROSS_COMPILE=${cross}`);
  if (ctx.env.CCACHE !== 'no') args.push(`CC=ccache ${cross}gcc`, 'HOSTCC=ccache gcc');
  return args;
}

function jobs(env: NodeJS.ProcessEnv): number {
  const wanted = Number(env.KERNEL_BUILD_JOBS);
  return Number.isInteger(wanted) && wanted > 0 ? wanted : availableParallelism();
}

function makeEnv(ctx: MakeContext): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...ctx.env,
    KBUILD_BUILD_USER: 'hook',
    KBUILD_BUILD_HOST: 'tinkerbell',
    CCACHE_DIR: ctx.ccacheDir,
    // The same sources unpacked in another place still hit the cache.
    CCACHE_BASEDIR: ctx.sourceDir,
    CCACHE_NOHASHDIR: 'true',
    LC_ALL: 'C',
  };
  const epoch = sourceDateEpoch(ctx.env);
  if (epoch !== undefined) env.KBUILD_BUILD_TIMESTAMP = new Date(epoch * 1000).toUTCString();
  delete env.MAKEFLAGS;
  delete env.MFLAGS;
  return env;
}

/** Runs make in the source tree; the last lines of its output explain a failure. */
export async function runMake(ctx: MakeContext, targets: string[], label: string, extra: string[] = []): Promise<void> {
  const args = [...makeArgs(ctx), ...extra, ...targets];
  const filter = await spawnFilter('sh', ['-c', 'exec make "$@" 2>&1', 'make', ...args], { cwd: ctx.sourceDir, env: makeEnv(ctx) });
  filter.stdin.end();
  const tail: string[] = [];
  let lines = 0;
  const progress = new Progress(label, undefined, log, 15_000);
  let pending = '';
  filter.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) {
      lines++;
      tail.push(line);
      if (tail.length > 25) tail.shift();
      log.debug(line);
    }
    progress.update(lines, 'lines of make output');
  });
  try {
    await filter.done;
  } catch {
    if (pending) tail.push(pending);
    throw new UserError(`make ${targets.join(' ')} failed for ${kernelArchOf(ctx.arch)}:\n${tail.join('\n')}`);
  }
  progress.finish();
}

/** `.config` from the defconfig, completed with `make olddefconfig`. */
export async function configure(ctx: MakeContext, defconfigPath: string): Promise<void> {
  await mkdir(ctx.objectDir, { recursive: true });
  const config = join(ctx.objectDir, '.config');
  const next = await readFile(defconfigPath);
  const previous = await readFile(join(ctx.objectDir, '.hook-defconfig')).catch(() => undefined);
  // Only rewrite .config when the defconfig changed: kbuild then rebuilds what the change touches.
  if (!previous || !previous.equals(next) || !(await exists(config))) {
    await copyFile(defconfigPath, config);
    await runMake(ctx, ['olddefconfig'], 'make olddefconfig');
    await copyFile(defconfigPath, join(ctx.objectDir, '.hook-defconfig'));
  }
}

export interface BuildProducts {
  release: string;
  image: string;
  systemMap: string;
  modulesRoot: string;
  dtbsDir?: string;
}

/** Builds image, modules and dtbs; installs modules and dtbs into `stageDir`. */
export async function buildKernel(ctx: MakeContext, stageDir: string): Promise<BuildProducts> {
  const targets = ctx.arch === 'x86_64' ? ['bzImage', 'modules'] : ['Image', 'modules', 'dtbs'];
  await runMake(ctx, targets, `make ${targets.join(' ')} (${kernelArchOf(ctx.arch)})`);
  const release = (await run('make', ['-s', ...makeArgs(ctx), 'kernelrelease'], { cwd: ctx.sourceDir, env: makeEnv(ctx) })).stdout.trim().split('\n').pop() ?? '';
  if (!/^\d+\.\d+/.test(release)) throw new Error(`could not read the kernel release (got '${release}')`);

  const modulesRoot = join(stageDir, 'modules');
  await mkdir(modulesRoot, { recursive: true });
  await runMake(ctx, ['modules_install'], 'make modules_install', [`INSTALL_MOD_PATH=${modulesRoot}`]);
  for (const link of ['build', 'source']) await rm(join(modulesRoot, 'lib', 'modules', release, link), { force: true });

  let dtbsDir: string | undefined;
  if (ctx.arch === 'aarch64') {
    dtbsDir = join(stageDir, 'dtbs');
    await runMake(ctx, ['dtbs_install'], 'make dtbs_install', [`INSTALL_DTBS_PATH=${dtbsDir}`]);
    // A config without any platform (tinyconfig) installs no dtbs at all: an empty archive then.
    await mkdir(dtbsDir, { recursive: true });
  }
  return {
    release,
    image: join(ctx.objectDir, imagePathOf(ctx.arch)),
    systemMap: join(ctx.objectDir, 'System.map'),
    modulesRoot,
    dtbsDir,
  };
}
