/**
 * What Debian's package manager knows about a root filesystem: `/var/lib/dpkg/status` (the
 * installed packages with versions) and `/var/lib/dpkg/info/<package>.list` (the paths each
 * package installed). Images copy files out of a Debian builder stage, so the builder's
 * database says which package, at which version, every copied file came from.
 */

export interface DebianPackage {
  name: string;
  version: string;
  /** Debian architecture (`amd64`, `arm64`, `all`). */
  architecture: string;
  /** The source package with its version when it differs (`Source: glibc (2.41-12)`). */
  source?: string;
  sourceVersion?: string;
}

export interface DpkgDatabase {
  /** Installed packages, by name (`name:arch` for a foreign-architecture co-install). */
  packages: Map<string, DebianPackage>;
  /** Path without leading '/' -> the package key that installed it. */
  owners: Map<string, string>;
}

export const DPKG_STATUS_PATH = 'var/lib/dpkg/status';
export const DPKG_INFO_DIR = 'var/lib/dpkg/info';

/** Paragraphs of an RFC 822-style control file (dpkg status), as field maps; continuation lines are dropped. */
function paragraphs(text: string): Array<Map<string, string>> {
  const result: Array<Map<string, string>> = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (match) fields.set(match[1]!.toLowerCase(), match[2]!.trim());
    }
    if (fields.size) result.push(fields);
  }
  return result;
}

/** The packages the status file lists as installed (`Status: install ok installed`). */
export function parseDpkgStatus(text: string): DebianPackage[] {
  const packages: DebianPackage[] = [];
  for (const fields of paragraphs(text)) {
    const name = fields.get('package');
    const version = fields.get('version');
    if (!name || !version || !/\binstalled$/.test(fields.get('status') ?? '')) continue;
    const pkg: DebianPackage = { name, version, architecture: fields.get('architecture') ?? 'all' };
    const source = /^(\S+)(?:\s+\((.+)\))?$/.exec(fields.get('source') ?? '');
    if (source) {
      pkg.source = source[1];
      if (source[2]) pkg.sourceVersion = source[2];
    }
    packages.push(pkg);
  }
  return packages;
}

/**
 * The same path in Debian's merged /usr: `bin/x`, `sbin/x`, `lib/x`, `lib64/x` and their `usr/`
 * forms name one file. A package's list may say either, and rootfs-copy resolves to usr/.
 */
export function mergedUsrPath(path: string): string {
  return path.replace(/^(bin|sbin|lib|lib32|lib64|libx32)(\/|$)/, 'usr/$1$2');
}

/**
 * The database from the status file and the `info/*.list` files (name -> content). List file
 * names are `<package>.list` or `<package>:<arch>.list`.
 */
export function dpkgDatabase(statusText: string, lists: Map<string, string>): DpkgDatabase {
  const packages = new Map<string, DebianPackage>();
  for (const pkg of parseDpkgStatus(statusText)) {
    const key = packages.has(pkg.name) ? `${pkg.name}:${pkg.architecture}` : pkg.name;
    packages.set(key, pkg);
  }
  const owners = new Map<string, string>();
  for (const [file, content] of [...lists.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const listed = file.replace(/^.*\//, '').replace(/\.list$/, '');
    const key = packages.has(listed) ? listed : listed.replace(/:[^:]+$/, '');
    if (!packages.has(key)) continue;
    for (const line of content.split('\n')) {
      const path = mergedUsrPath(line.replace(/^\/+/, '').replace(/\/+$/, ''));
      if (path && path !== '.' && !owners.has(path)) owners.set(path, key);
    }
  }
  return { packages, owners };
}
