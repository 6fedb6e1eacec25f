/**
 * Turns the unpacked tree into the ordered list of archive records and the hard-link groups.
 *
 * Order: depth first, siblings by the byte order of their UTF-8 names, so parents always come
 * before their children and the same tree always gives the same archive.
 *
 * Hard-link groups: the names an input hard link gave one inode, merged (when de-duplicating)
 * with every other non-empty regular file that has the same content, mode, uid and gid. Empty
 * files are not merged: it saves nothing and would tie together files that programs write at
 * run time (locks, logs). Mode and owner are part of the key because linked names share them:
 * rdfind, which upstream used, ignores them and could give a plain copy the setuid bit.
 *
 * Files that still need a hash (see same-size.ts) are grouped later, a whole size class at a
 * time, when the archive reaches the first of them: `deferred` holds them by size.
 */
import type { FileInode, RootTree, TreeNode } from './tree';

export interface LinkGroup {
  /** The inode whose metadata the group uses: the earliest in input order. */
  inode: FileInode;
  /** Distinct input inodes merged into this group. */
  inputInodes: Set<FileInode>;
  /** Names in the archive. */
  members: number;
}

export interface PlannedRecord {
  /** Archive name: relative, no leading `/`. */
  path: string;
  node: TreeNode;
  /** Set for regular files (for a deferred one, once `groupRecords` ran on its size class). */
  group?: LinkGroup;
}

export interface ArchivePlan {
  records: PlannedRecord[];
  groups: LinkGroup[];
  /** Records of files in `defer`, by size, not grouped yet. */
  deferred: Map<number, PlannedRecord[]>;
}

export function planArchive(tree: RootTree, dedupe: boolean, defer: ReadonlySet<FileInode> = new Set()): ArchivePlan {
  const plan: ArchivePlan = { records: [], groups: [], deferred: new Map() };
  const now: PlannedRecord[] = [];
  const visit = (dir: TreeNode, prefix: string) => {
    for (const child of sortedChildren(dir)) {
      const path = prefix ? `${prefix}/${child.name}` : child.name;
      const record: PlannedRecord = { path, node: child };
      plan.records.push(record);
      if (child.file && defer.has(child.file)) {
        const same = plan.deferred.get(child.file.size);
        if (same) same.push(record);
        else plan.deferred.set(child.file.size, [record]);
      } else if (child.file) {
        now.push(record);
      }
      if (child.type === 'directory') visit(child, path);
    }
  };
  visit(tree.root, '');
  groupRecords(plan, now, dedupe);
  return plan;
}

/** Puts the regular files among `records` into link groups of their own (not joined with earlier groups). */
export function groupRecords(plan: ArchivePlan, records: PlannedRecord[], dedupe: boolean): void {
  const groupsByKey = new Map<string | FileInode, LinkGroup>();
  for (const record of records) {
    const inode = record.node.file!;
    // No sha256: a build-host file whose size no other file has, so it has no duplicate.
    const key = dedupe && inode.size > 0 && inode.sha256 !== undefined ? `${inode.sha256}:${inode.mode}:${inode.uid}:${inode.gid}` : inode;
    let group = groupsByKey.get(key);
    if (!group) {
      group = { inode, inputInodes: new Set(), members: 0 };
      groupsByKey.set(key, group);
      plan.groups.push(group);
    }
    if (inode.sequence < group.inode.sequence) group.inode = inode;
    group.inputInodes.add(inode);
    group.members++;
    record.group = group;
  }
}

function sortedChildren(dir: TreeNode): TreeNode[] {
  const children = [...(dir.children?.values() ?? [])].map((node) => ({ node, key: Buffer.from(node.name) }));
  children.sort((a, b) => Buffer.compare(a.key, b.key));
  return children.map((c) => c.node);
}
