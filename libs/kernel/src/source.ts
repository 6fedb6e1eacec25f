/**
 * Kernel source providers (KERNEL_SOURCE=auto|kernel.org|mirror|tarball|debian) and the
 * persistent unpacked source tree in the cache (patched once, shared by every build of it).
 */
import { createWriteStream } from 'node:fs';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Progress, UserError, log } from '@hook/log';
import { run } from '@hook/process';
import { AptSuite, exists, extractDebData, tempDirBeside } from '@hook/debian';
import { publishFile, sha256File } from './files';
import { kernelCacheDir } from './paths';
import { kernelOrgReachable, kernelOrgSettings, tarballName } from './releases';
import { verifyChecksum, verifyClearsigned } from './verify';
import { setting } from '@hook/settings';

export type SourceProvider = 'kernel.org' | 'mirror' | 'tarball' | 'debian';

export interface SourceRequest {
  workspaceRoot: string;
  env: NodeJS.ProcessEnv;
  major: number;
  minor: number;
  point: number;
  /** The Debian source version recorded in the lock, if any. */
  debianVersion?: string;
}

export interface SourceTree {
  provider: SourceProvider;
  /** Exact version of what was unpacked, e.g. `6.12.117` or Debian's `6.12.117-1`. */
  version: string;
  /** The unpacked, patched tree (the kernel's top directory). */
  dir: string;
}

/** The debian suite that provides linux-source-X.Y packages. */
export function debianSourceSuite(env: NodeJS.ProcessEnv): string {
  return setting(env, 'KERNEL_DEBIAN_SUITE');
}

export async function chooseProvider(env: NodeJS.ProcessEnv): Promise<SourceProvider> {
  const wanted = setting(env, 'KERNEL_SOURCE');
  if (wanted !== 'auto') return wanted;
  if (setting(env, 'KERNEL_TARBALL')) return 'tarball';
  if (setting(env, 'KERNEL_MIRROR')) return 'mirror';
  if (await kernelOrgReachable(env)) return 'kernel.org';
  log.info('kernel.org is not reachable: using Debian linux-source packages (KERNEL_SOURCE=auto)');
  return 'debian';
}

/** Gets the source of `major.minor.point` from the chosen provider and unpacks it (cached). */
export async function prepareSourceTree(request: SourceRequest): Promise<SourceTree> {
  const provider = await chooseProvider(request.env);
  switch (provider) {
    case 'kernel.org':
    case 'mirror':
      return fromKernelOrg(request, provider);
    case 'tarball':
      return fromTarball(request);
    case 'debian':
      return fromDebian(request);
  }
}

function seriesText(r: SourceRequest): string {
  return r.point === 0 ? `${r.major}.${r.minor}` : `${r.major}.${r.minor}.${r.point}`;
}

async function fromKernelOrg(request: SourceRequest, provider: 'kernel.org' | 'mirror'): Promise<SourceTree> {
  const { env, workspaceRoot } = request;
  const base = provider === 'mirror' ? (setting(env, 'KERNEL_MIRROR') ?? '').replace(/\/+$/, '') : kernelOrgSettings(env).baseUrl;
  if (!base) throw new UserError('KERNEL_SOURCE=mirror needs KERNEL_MIRROR (a URL laid out like kernel.org: <url>/v6.x/linux-6.12.1.tar.xz)');
  const version = seriesText(request);
  const tree = sourceTreeDir(workspaceRoot, env, `upstream-${version}`);
  if (await exists(tree)) return { provider, version, dir: tree };

  if (provider === 'kernel.org' && !(await kernelOrgReachable(env))) {
    throw new UserError(`kernel.org (${base}) is not reachable and KERNEL_SOURCE=kernel.org allows no fallback; use KERNEL_SOURCE=auto or debian, or KERNEL_MIRROR/KERNEL_TARBALL`);
  }
  const name = tarballName(request.major, request.minor, request.point);
  const directory = `${base}/v${request.major}.x`;
  const downloads = kernelCacheDir(workspaceRoot, env, 'downloads', 'upstream');
  const tarball = join(downloads, name);
  const sums = join(downloads, `sha256sums-v${request.major}.x.asc`);
  // sha256sums.asc changes with every release: always fetch it fresh.
  await download(`${directory}/sha256sums.asc`, sums, env);
  if (!(await exists(tarball))) await download(`${directory}/${name}`, tarball, env);
  const keys = resolve(workspaceRoot, setting(env, 'KERNEL_ORG_KEYRING'));
  try {
    const verified = await verifyClearsigned(sums, keys);
    await verifyChecksum(verified, name, tarball);
  } catch (error) {
    await rm(tarball, { force: true });
    await rm(sums, { force: true });
    throw error;
  }
  log.info(`${name}: sha256 and PGP signature verified`);
  await unpackSource(tarball, tree, request);
  return { provider, version, dir: tree };
}

async function fromTarball(request: SourceRequest): Promise<SourceTree> {
  const { env, workspaceRoot } = request;
  const given = setting(env, 'KERNEL_TARBALL');
  if (!given) throw new UserError('KERNEL_SOURCE=tarball needs KERNEL_TARBALL=/path/to/linux-X.Y.Z.tar.xz');
  const tarball = resolve(workspaceRoot, given);
  if (!(await exists(tarball))) throw new UserError(`KERNEL_TARBALL ${tarball} does not exist`);
  const match = /^linux-(\d+)\.(\d+)(?:\.(\d+))?\.tar(\.\w+)?$/.exec(basename(tarball));
  const want = seriesText(request);
  if (!match || `${match[1]}.${match[2]}${match[3] ? `.${match[3]}` : ''}` !== want) {
    throw new UserError(`KERNEL_TARBALL ${basename(tarball)} is not linux-${want}.tar.*; give the ${want} tarball or set KERNEL_POINT_RELEASE to its point release`);
  }
  const digest = await sha256File(tarball);
  const expected = setting(env, 'KERNEL_TARBALL_SHA256');
  if (expected && expected.toLowerCase() !== digest) {
    throw new UserError(`KERNEL_TARBALL ${basename(tarball)} is corrupted: its sha256 is not KERNEL_TARBALL_SHA256`);
  }
  if (!expected) log.warn(`KERNEL_TARBALL ${basename(tarball)} is used without verification (set KERNEL_TARBALL_SHA256 to check it)`);
  const tree = sourceTreeDir(workspaceRoot, env, `tarball-${want}-${digest.slice(0, 12)}`);
  if (!(await exists(tree))) await unpackSource(tarball, tree, request);
  return { provider: 'tarball', version: want, dir: tree };
}

async function fromDebian(request: SourceRequest): Promise<SourceTree> {
  const { env, workspaceRoot } = request;
  const suite = debianSourceSuite(env);
  const pkg = `linux-source-${request.major}.${request.minor}`;
  const apt = new AptSuite(kernelCacheDir(workspaceRoot, env), suite, 'amd64', env);
  const want = seriesText(request);
  const available = await apt.versions(pkg);
  const matching = available.filter((v) => upstreamOf(v.version) === want).map((v) => v.version);
  const version = matching.find((v) => v === request.debianVersion) ?? matching[0];
  if (!version) {
    const have = available.map((v) => v.version).join(', ') || 'none';
    throw new UserError(
      `Debian ${suite} has no ${pkg} for ${want} (available: ${have}); run the kernel lock refresh with KERNEL_SOURCE=debian or set KERNEL_POINT_RELEASE`,
    );
  }
  const tree = sourceTreeDir(workspaceRoot, env, `debian-${version}`);
  if (await exists(tree)) return { provider: 'debian', version, dir: tree };
  const deb = await apt.download(pkg, version, kernelCacheDir(workspaceRoot, env, 'downloads'));
  const scratch = await tempDirBeside(tree);
  try {
    const inner = `usr/src/${pkg}.tar.xz`;
    log.info(`extracting ${inner} from ${basename(deb)}`);
    await extractDebData(deb, scratch, (path) => path === inner || inner.startsWith(`${path}/`));
    await unpackSource(join(scratch, inner), tree, request);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { provider: 'debian', version, dir: tree };
}

/** `6.12.117-1~bpo13+1` -> `6.12.117`. */
export function upstreamOf(debianVersion: string): string {
  return debianVersion.replace(/^\d+:/, '').split('-')[0];
}

export function sourceTreeDir(workspaceRoot: string, env: NodeJS.ProcessEnv, key: string): string {
  return kernelCacheDir(workspaceRoot, env, 'src', key);
}

/** Unpacks a kernel tarball into `tree` (through a temp dir), checks its version, patches it. */
async function unpackSource(tarball: string, tree: string, request: SourceRequest): Promise<void> {
  const temp = await tempDirBeside(tree);
  try {
    const progress = new Progress(`unpacking ${basename(tarball)}`);
    const result = await run('tar', ['-xf', tarball, '-C', temp], { allowFailure: true, timeoutMs: 1_800_000 });
    if (result.exitCode !== 0) {
      throw new UserError(`${basename(tarball)} is corrupted or truncated (tar: ${result.stderr.trim().split('\n').pop()}); delete it and download it again`);
    }
    progress.finish();
    const top = (await readdir(temp, { withFileTypes: true })).filter((e) => e.isDirectory());
    if (top.length !== 1 || !(await exists(join(temp, top[0].name, 'Makefile')))) {
      throw new UserError(`${basename(tarball)} does not look like a Linux source tarball (no single top directory with a Makefile)`);
    }
    const root = join(temp, top[0].name);
    const version = await makefileVersion(root);
    const want = seriesText(request);
    if (version !== want && !(request.point === 0 && version === `${want}.0`)) {
      throw new UserError(`${basename(tarball)} contains Linux ${version}, not ${want}`);
    }
    await patchCommandLineSize(root);
    await rename(root, tree);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

export async function makefileVersion(root: string): Promise<string> {
  const text = await readFile(join(root, 'Makefile'), 'utf8');
  const field = (name: string) => new RegExp(`^${name}\\s*=\\s*(\\S*)`, 'm').exec(text)?.[1] ?? '';
  const sub = field('SUBLEVEL');
  return `${field('VERSION')}.${field('PATCHLEVEL')}${sub && sub !== '0' ? `.${sub}` : ''}`;
}

/** As upstream: HookOS command lines are long (Tinkerbell parameters), x86 allows 2048 only. */
export async function patchCommandLineSize(root: string): Promise<void> {
  for (const file of ['arch/x86/include/asm/setup.h', 'arch/x86/include/uapi/asm/setup.h']) {
    const path = join(root, file);
    if (!(await exists(path))) continue;
    const text = await readFile(path, 'utf8');
    const patched = text.replace(/#define COMMAND_LINE_SIZE\s+2048\b/, '#define COMMAND_LINE_SIZE 4096');
    if (patched !== text) await writeFile(path, patched);
  }
}

/** Downloads a URL to a file (through a temp name). */
export async function download(url: string, target: string, env: NodeJS.ProcessEnv): Promise<void> {
  const timeoutMs = setting(env, 'KERNEL_DOWNLOAD_TIMEOUT_MS');
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new UserError(`download of ${url} failed (${(error as Error).message}); check the network or choose another KERNEL_SOURCE`);
  }
  if (!response.ok || !response.body) {
    throw new UserError(`download of ${url} failed: HTTP ${response.status}; check the kernel version and the URL`);
  }
  const total = Number(response.headers.get('content-length') || 0) || undefined;
  const progress = new Progress(`downloading ${basename(target)}`, total);
  let done = 0;
  await publishFile(target, async (temp) => {
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
    body.on('data', (chunk: Buffer) => {
      done += chunk.length;
      progress.update(done);
    });
    await pipeline(body, createWriteStream(temp));
  });
  progress.finish(done);
}

