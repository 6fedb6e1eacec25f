/**
 * Building a kernel from a prepared source tree: defconfig -> `make olddefconfig`, then the
 * image, modules and (arm64) dtbs, in a persistent object directory with ccache so a rebuild
 * after a small config change reuses almost everything.
 */
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Progress, UserError, log } from '@hook/log';
import { hasCommand, spawnFilter } from '@hook/process';
import type { Arch } from '@hook/inventory';
import { hostKernelArch } from '@hook/layout';
import { exists } from '@hook/debian';
import { sourceDateEpoch } from './paths';
import { setting } from '@hook/settings';

export interface MakeContext {
  sourceDir: string;
  objectDir: string;
  arch: Arch;
  env: NodeJS.ProcessEnv;
  ccacheDir: string;
  /** Where make runs; the host when unset. */
  runner?: MakeRunner;
}

/** The kernel's make ARCH= for an architecture (arm64 for aarch64; not @hook/layout's names). */
export function makeArchOf(arch: Arch): string {
  return arch === 'x86_64' ? 'x86_64' : 'arm64';
}

export function imagePathOf(arch: Arch): string {
  return arch === 'x86_64' ? 'arch/x86/boot/bzImage' : 'arch/arm64/boot/Image';
}

function crossCompilePrefix(arch: Arch): string {
  if (arch === hostKernelArch()) return '';
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
  const args = [`O=${ctx.objectDir}`, `ARCH=${makeArchOf(ctx.arch)}`, `-j${jobs(ctx.env)}`];
  if (cross) args.push(`CROSS_COMPILE=${cross}`);
  if (setting(ctx.env, 'CCACHE')) args.push(`CC=ccache ${cross}gcc`, 'HOSTCC=ccache gcc');
  return args;
}

function jobs(env: NodeJS.ProcessEnv): number {
  return setting(env, 'KERNEL_BUILD_JOBS') ?? availableParallelism();
}

/** The variables every make run gets, on the host or in the builder container. */
export function makeVariables(ctx: MakeContext): Record<string, string> {
  const cross = crossCompilePrefix(ctx.arch);
  const vars: Record<string, string> = {
    ARCH: makeArchOf(ctx.arch),
    KBUILD_BUILD_USER: 'hook',
    KBUILD_BUILD_HOST: 'tinkerbell',
    CCACHE_DIR: ctx.ccacheDir,
    // The same sources unpacked in another place still hit the cache.
    CCACHE_BASEDIR: ctx.sourceDir,
    CCACHE_NOHASHDIR: 'true',
    LC_ALL: 'C',
  };
  if (cross) vars.CROSS_COMPILE = cross;
  const epoch = sourceDateEpoch(ctx.env);
  if (epoch !== undefined) vars.KBUILD_BUILD_TIMESTAMP = new Date(epoch * 1000).toUTCString();
  return vars;
}

/** One make run: its argv (starting with `make`), working directory and variables. */
export interface MakeCommand {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

/** The command line of `make <targets>`; the host and the container runner both execute it. */
export function makeCommand(ctx: MakeContext, targets: string[], extra: string[] = []): MakeCommand {
  return { argv: ['make', ...makeArgs(ctx), ...extra, ...targets], cwd: ctx.sourceDir, env: makeVariables(ctx) };
}

/**
 * Collects a make run's output (stdout and stderr merged): every line at debug level, a
 * progress line every 15 s, the last lines kept for the error message and for reading results.
 */
export class MakeOutput {
  readonly tail: string[] = [];
  private pending = '';
  private lines = 0;
  private readonly progress: Progress;

  constructor(label: string) {
    this.progress = new Progress(label, undefined, log, 15_000);
  }

  write(chunk: Buffer | string): void {
    this.pending += chunk.toString();
    const parts = this.pending.split('\n');
    this.pending = parts.pop() ?? '';
    for (const line of parts) this.line(line.replace(/\r$/, ''));
    this.progress.update(this.lines, 'lines of make output');
  }

  end(): void {
    if (this.pending) this.line(this.pending);
    this.pending = '';
  }

  finish(): void {
    this.progress.finish();
  }

  private line(line: string): void {
    this.lines++;
    this.tail.push(line);
    if (this.tail.length > 25) this.tail.shift();
    log.debug(line);
  }
}

/**
 * Runs one make command, writing its output to `output`; rejects with MakeFailed when make
 * fails (any other error is the runner's own). `callerEnv` is the build's environment.
 */
export type MakeRunner = (command: MakeCommand, output: MakeOutput, callerEnv: NodeJS.ProcessEnv) => Promise<void>;

/** A runner's way of saying make itself failed (the output explains why). */
export class MakeFailed extends Error {}

/** make on the host: the caller's environment plus the make variables. */
export const hostRunner: MakeRunner = async (command, output, callerEnv) => {
  const env: NodeJS.ProcessEnv = { ...callerEnv, ...command.env };
  delete env.MAKEFLAGS;
  delete env.MFLAGS;
  const [program, ...args] = command.argv;
  const filter = await spawnFilter('sh', ['-c', 'exec "$@" 2>&1', 'sh', program, ...args], { cwd: command.cwd, env });
  filter.stdin.end();
  filter.stdout.on('data', (chunk: Buffer) => output.write(chunk));
  try {
    await filter.done;
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new MakeFailed((error as Error).message);
  }
};

/**
 * Runs make in the source tree (on the host, or in the builder container when the context has
 * a runner); returns the last lines of its output, which also explain a failure.
 */
export async function runMake(ctx: MakeContext, targets: string[], label: string, extra: string[] = [], quiet = false): Promise<string[]> {
  const output = new MakeOutput(label);
  try {
    await (ctx.runner ?? hostRunner)(makeCommand(ctx, targets, extra), output, ctx.env);
  } catch (error) {
    output.end();
    if (!(error instanceof MakeFailed)) throw error;
    throw new UserError(`make ${targets.join(' ')} failed for ${makeArchOf(ctx.arch)}:\n${output.tail.join('\n')}`);
  }
  output.end();
  if (!quiet) output.finish();
  return output.tail;
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
  await runMake(ctx, targets, `make ${targets.join(' ')} (${makeArchOf(ctx.arch)})`);
  const release = (await runMake(ctx, ['kernelrelease'], 'make kernelrelease', ['-s'], true)).filter((line) => line.trim()).pop()?.trim() ?? '';
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
