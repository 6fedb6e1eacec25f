/**
 * A Debian package of any architecture, downloaded from the host's mirror and unpacked once into
 * a cache folder: how the arm64 ISO gets Debian's arm64 GRUB on an amd64 host (its package is not
 * installable there), and how bootable media get firmware and boot loaders.
 */
import { readFileSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError, log } from '@hook/log';
import { AptSuite } from './apt';
import { extractDebData } from './deb';
import { exists, tempDirBeside } from './files';

export interface UnpackedPackageRequest {
  /** Where apt's state, the .deb and the unpacked files are kept (e.g. `<CACHE_DIR>/debian`). */
  cacheDir: string;
  /** Debian suite, e.g. `bookworm` or `trixie`. */
  suite: string;
  /** Debian architecture of the package (`arm64`, `amd64`, `all` packages come with either). */
  debArch: string;
  name: string;
  /** Exact version; default: the one apt would install from the suite. */
  version?: string;
  /** Only these paths of the package (prefixes such as `usr/lib/grub/`); default: everything. */
  keep?: string[];
  /** Archive components (default main), e.g. ['main', 'non-free-firmware']. */
  components?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface UnpackedPackage {
  name: string;
  version: string;
  architecture: string;
  suite: string;
  /** The folder holding the package's files (`<dir>/usr/lib/...`). */
  dir: string;
}

/** Written beside the files: which package they are, for SBOMs and for the next run. */
export const UNPACKED_PACKAGE_FILE = 'hook-package.json';

/** Downloads (apt-verified) and unpacks the package once; later calls return the cached folder. */
export async function unpackedPackage(request: UnpackedPackageRequest): Promise<UnpackedPackage> {
  const env = request.env ?? process.env;
  const apt = new AptSuite(request.cacheDir, request.suite, request.debArch, env, request.components);
  const version = request.version ?? (await apt.candidate(request.name));
  if (!version) {
    throw new UserError(`Debian package ${request.name} (${request.debArch}) is not in suite ${request.suite} on the host's mirror; check the suite (HOOK_DEBIAN_MIRROR, /etc/apt/sources.list)`);
  }
  const safeVersion = version.replace(/:/g, '%3a');
  const dir = join(request.cacheDir, 'unpacked', `${request.name}_${safeVersion}_${request.debArch}`);
  const known = await readUnpackedPackage(dir);
  if (known && known.version === version && sameKeep(known.keep, request.keep)) return { ...known.pkg, dir };

  const deb = await apt.download(request.name, version, join(request.cacheDir, 'downloads'));
  const temp = await tempDirBeside(dir);
  try {
    const keep = request.keep;
    const written = await extractDebData(deb, temp, keep ? (path) => keep.some((prefix) => path.startsWith(prefix) || prefix.startsWith(`${path}/`)) : undefined);
    if (written.length === 0) throw new UserError(`Debian package ${request.name} ${version} has no files under ${(keep ?? []).join(', ')}`);
    const architecture = /_([^_]+)\.deb$/.exec(deb)?.[1] ?? request.debArch;
    const pkg = { name: request.name, version, architecture, suite: request.suite };
    await writeFile(join(temp, UNPACKED_PACKAGE_FILE), `${JSON.stringify({ ...pkg, keep: keep ?? null }, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
    log.info(`unpacked ${request.name} ${version} (${architecture}) into ${dir}`);
    return { ...pkg, dir };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

interface UnpackedRecord {
  pkg: Omit<UnpackedPackage, 'dir'>;
  version: string;
  keep: string[] | null;
}

async function readUnpackedPackage(dir: string): Promise<UnpackedRecord | undefined> {
  const file = join(dir, UNPACKED_PACKAGE_FILE);
  if (!(await exists(file))) return undefined;
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as Omit<UnpackedPackage, 'dir'> & { keep: string[] | null };
    return { pkg: { name: data.name, version: data.version, architecture: data.architecture, suite: data.suite }, version: data.version, keep: data.keep };
  } catch {
    return undefined;
  }
}

function sameKeep(a: string[] | null, b: string[] | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The package a folder made by unpackedPackage holds (searched upwards from a path inside it). */
export async function unpackedPackageOf(path: string): Promise<Omit<UnpackedPackage, 'dir'> | undefined> {
  let dir = path;
  for (let depth = 0; depth < 8; depth++) {
    const record = await readUnpackedPackage(dir);
    if (record) return record.pkg;
    const parent = join(dir, '..');
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** The host's Debian suite (VERSION_CODENAME of /etc/os-release), undefined when it names none. */
export function hostDebianSuite(osRelease = '/etc/os-release'): string | undefined {
  try {
    return /^VERSION_CODENAME=["']?([a-z0-9-]+)/m.exec(readFileSync(osRelease, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
