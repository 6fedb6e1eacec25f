/**
 * The figures the size report needs, gathered from the archive plan while it is in memory.
 * Sizes are uncompressed content bytes; data shared by hard-linked names counts once.
 */
import type { ArchivePlan } from './plan';

/** Files at least this big are listed individually (for "same name, several places"). */
export const LARGE_FILE_BYTES = 1 << 20;
const NO_ORIGIN = '(no origin)';

export interface DirectorySize {
  /** Absolute path, e.g. `/usr/lib`. */
  path: string;
  /** Content bytes below it, data shared by several names counted once. */
  bytes: number;
  files: number;
}

export interface LargeFile {
  path: string;
  size: number;
  /** Unset when no other file has this size (then no other file has this content). */
  sha256?: string;
  mode: number;
  uid: number;
  gid: number;
  /** True when the data is stored under another name (a hard link). */
  linked: boolean;
  /** Names with the same storageId share one stored copy. */
  storageId: number;
}

export interface OriginSize {
  origin: string;
  /** Archive names that came from this origin. */
  entries: number;
  /** Content bytes of its files as seen by a user (`du --apparent-size` without links). */
  apparentBytes: number;
  /** Content bytes stored because of it: data is charged to the earliest origin that brought it. */
  storedBytes: number;
}

export interface SizeData {
  /** Every directory, largest first. */
  directories: DirectorySize[];
  /** Regular files of at least LARGE_FILE_BYTES, largest first. */
  largeFiles: LargeFile[];
  /** Per origin, largest stored first. */
  origins: OriginSize[];
}

export function collectSizeData(plan: ArchivePlan): SizeData {
  const directories = new Map<string, DirectorySize>();
  const origins = new Map<string, OriginSize>();
  const largeFiles: LargeFile[] = [];
  // Directories already charged for a group, so linked data counts once per directory.
  const chargedDirs = new Map<object, Set<string>>();
  const writtenNames = new Map<object, number>();
  const storageIds = new Map<object, number>(plan.groups.map((group, index) => [group, index]));

  const originOf = (name: string | undefined) => {
    const key = name ?? NO_ORIGIN;
    let entry = origins.get(key);
    if (!entry) {
      entry = { origin: key, entries: 0, apparentBytes: 0, storedBytes: 0 };
      origins.set(key, entry);
    }
    return entry;
  };

  for (const record of plan.records) {
    const { node, group } = record;
    const origin = originOf(node.origin);
    origin.entries++;
    if (node.type === 'directory') {
      directories.set(`/${record.path}`, directories.get(`/${record.path}`) ?? { path: `/${record.path}`, bytes: 0, files: 0 });
    }
    if (!group) continue;
    const size = group.inode.size;
    origin.apparentBytes += size;
    const seen = (writtenNames.get(group) ?? 0) + 1;
    writtenNames.set(group, seen);
    if (seen === 1) originOf(group.inode.origin).storedBytes += size;
    if (size >= LARGE_FILE_BYTES) {
      largeFiles.push({ path: `/${record.path}`, size, sha256: group.inode.sha256, mode: group.inode.mode, uid: group.inode.uid, gid: group.inode.gid, linked: group.members > 1, storageId: storageIds.get(group)! });
    }
    // A single-name file is charged to each ancestor once by construction; only groups need a memory.
    let charged = group.members > 1 ? chargedDirs.get(group) : undefined;
    if (group.members > 1 && !charged) {
      charged = new Set();
      chargedDirs.set(group, charged);
    }
    for (let slash = record.path.indexOf('/'); slash >= 0; slash = record.path.indexOf('/', slash + 1)) {
      const dirPath = `/${record.path.slice(0, slash)}`;
      let dir = directories.get(dirPath);
      if (!dir) {
        dir = { path: dirPath, bytes: 0, files: 0 };
        directories.set(dirPath, dir);
      }
      dir.files++;
      if (!charged) dir.bytes += size;
      else if (!charged.has(dirPath)) {
        charged.add(dirPath);
        dir.bytes += size;
      }
    }
  }

  return {
    directories: [...directories.values()].sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1)),
    largeFiles: largeFiles.sort((a, b) => b.size - a.size || (a.path < b.path ? -1 : 1)),
    origins: [...origins.values()].sort((a, b) => b.storedBytes - a.storedBytes || (a.origin < b.origin ? -1 : 1)),
  };
}
