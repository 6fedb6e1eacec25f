/**
 * Splits an archive plan into segments, one per origin (the image an entry came from), so each
 * segment can be compressed on its own and a compressed segment reused while its bytes do not
 * change. The initramfs is the segments' compressed streams one after the other; the kernel
 * unpacks each in turn into the same root (init/initramfs.c: unpack_to_rootfs).
 *
 * The plan is the merged tree (last entry wins), so every path is in exactly one segment and the
 * unpacked root is the same as from one stream. A segment also carries the directories above its
 * names (with their final metadata: creating one again only sets the same mode and owner), so it
 * does not depend on the order the others are unpacked in.
 *
 * Hard links across segments: only the last segment ends with TRAILER!!!, and the kernel keeps
 * its (dev, ino) link table until a trailer, so a name in a later segment can link to a file an
 * earlier one created. The decompressed segments together are then one valid newc archive (each
 * ends on a record boundary, 4-byte aligned). For a segment's bytes to depend on that segment
 * only, every segment numbers its own inodes under its own c_dev (0:index), and a file shared
 * across segments takes an inode number derived from its content, under the dev of the first
 * segment that has it: that one carries the data, the later ones carry empty names.
 */
import { createHash } from 'node:crypto';
import type { FileInode, TreeNode } from './tree';
import type { ArchivePlan, LinkGroup, PlannedRecord } from './plan';

export interface ArchiveRecord {
  path: string;
  node: TreeNode;
  ino: number;
  /** c_devminor (c_devmajor is 0): with ino, what the kernel matches hard links on. */
  dev: number;
  nlink: number;
  /** A regular file's inode (its mode and owner); set on every name of a hard-linked file. */
  inode?: FileInode;
  /** True when this name carries the file's data (the last name of its group in its segment). */
  carriesData: boolean;
}

export interface Segment {
  /** The origin of the segment's names ('' for entries without one). */
  origin: string;
  records: ArchiveRecord[];
}

/** Inode numbers from content: the top bit set, so they never meet a segment's own numbers. */
const SHARED_INODE_BIT = 0x80000000;
const FIRST_INODE = 1;

/**
 * Files at least this big go into a second segment of their origin: binaries change seldom,
 * scripts and configuration often, so a changed script does not compress dockerd again, and
 * the binaries of an image still share one zstd window (dockerd, containerd and the docker CLI
 * share much of their code).
 */
export const LARGE_FILE_BYTES = 1 << 20;
const LARGE_SUFFIX = ' (large files)';

/**
 * The plan's records in segments, ordered as `origins` (first appearance in the input; each
 * origin's small files, then its large ones), every record of a hard-link group already grouped
 * (no deferred size class left).
 */
export function splitIntoSegments(plan: ArchivePlan, origins: readonly string[]): Segment[] {
  const index = new Map(origins.map((origin, i) => [origin, i]));
  const segmentOf = (node: TreeNode) => {
    const origin = node.origin ?? '';
    let i = index.get(origin);
    if (i === undefined) {
      i = index.size;
      index.set(origin, i);
    }
    return 2 * i + ((node.file?.size ?? 0) >= LARGE_FILE_BYTES ? 1 : 0);
  };
  const members = new Map<number, PlannedRecord[]>();
  for (const record of plan.records) {
    if (record.node.file && !record.group) throw new Error(`initramfs segments: ${record.path} is not grouped yet`);
    const i = segmentOf(record.node);
    const list = members.get(i);
    if (list) list.push(record);
    else members.set(i, [record]);
  }
  // Origins the caller did not announce come after the announced ones, in plan order.
  const order = [...index.keys()].flatMap((origin) => [origin, `${origin}${LARGE_SUFFIX}`]);

  // Where each group's data goes: the first segment (in unpack order) with one of its names.
  const homes = new Map<LinkGroup, number>();
  const spans = new Set<LinkGroup>();
  for (let i = 0; i < order.length; i++) {
    for (const record of members.get(i) ?? []) {
      const group = record.group;
      if (!group) continue;
      const home = homes.get(group);
      if (home === undefined) homes.set(group, i);
      else if (home !== i) spans.add(group);
    }
  }
  const sharedInodes = sharedInodeNumbers(spans, homes);

  const segments: Segment[] = [];
  for (let i = 0; i < order.length; i++) {
    const records = members.get(i);
    if (!records?.length) continue;
    segments.push({ origin: order[i], records: numberSegment(records, i, homes, spans, sharedInodes) });
  }
  return segments;
}

function numberSegment(records: PlannedRecord[], dev: number, homes: Map<LinkGroup, number>, spans: Set<LinkGroup>, sharedInodes: Map<LinkGroup, number>): ArchiveRecord[] {
  const out: ArchiveRecord[] = [];
  let nextInode = FIRST_INODE;
  const written = new Set<TreeNode>();
  const localInodes = new Map<LinkGroup, number>();
  // How many of each group's names this segment has, to put the data on the last of them.
  const namesHere = new Map<LinkGroup, number>();
  for (const record of records) if (record.group) namesHere.set(record.group, (namesHere.get(record.group) ?? 0) + 1);

  const plain = (path: string, node: TreeNode): ArchiveRecord => ({ path, node, ino: nextInode++, dev, nlink: node.type === 'directory' ? 2 : 1, carriesData: node.type !== 'file' });
  for (const record of records) {
    // The directories above it that this segment has not written yet, outermost first.
    const above: TreeNode[] = [];
    for (let parent = record.node.parent; parent?.parent; parent = parent.parent) {
      if (written.has(parent)) break;
      above.unshift(parent);
    }
    let prefix = record.path.split('/').slice(0, -above.length - 1);
    for (const dir of above) {
      prefix = [...prefix, dir.name];
      written.add(dir);
      out.push(plain(prefix.join('/'), dir));
    }
    written.add(record.node);
    const group = record.group;
    if (!group) {
      out.push(plain(record.path, record.node));
      continue;
    }
    const left = namesHere.get(group)! - 1;
    namesHere.set(group, left);
    const home = homes.get(group)!;
    let ino = sharedInodes.get(group);
    if (ino === undefined) {
      ino = localInodes.get(group);
      if (ino === undefined) localInodes.set(group, (ino = nextInode++));
    }
    out.push({
      path: record.path,
      node: record.node,
      ino,
      dev: spans.has(group) ? home : dev,
      nlink: group.members,
      inode: group.inode,
      carriesData: home === dev && left === 0,
    });
  }
  return out;
}

/**
 * Inode numbers for groups whose names are in several segments: from the content (sha256, mode,
 * owner), so they stay the same while other files come and go; a rare collision under the same
 * dev takes the next free number, in the order of the keys.
 */
function sharedInodeNumbers(spans: Set<LinkGroup>, homes: Map<LinkGroup, number>): Map<LinkGroup, number> {
  const keyed = [...spans].map((group) => {
    const { sha256, size, mode, uid, gid } = group.inode;
    return { group, key: `${sha256 ?? ''}:${size}:${mode}:${uid}:${gid}` };
  });
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const taken = new Set<string>();
  const numbers = new Map<LinkGroup, number>();
  for (const { group, key } of keyed) {
    let ino = (SHARED_INODE_BIT | createHash('sha256').update(key).digest().readUInt32BE(0)) >>> 0;
    const dev = homes.get(group)!;
    while (taken.has(`${dev}:${ino}`)) ino = (SHARED_INODE_BIT | (ino + 1)) >>> 0;
    taken.add(`${dev}:${ino}`);
    numbers.set(group, ino);
  }
  return numbers;
}
