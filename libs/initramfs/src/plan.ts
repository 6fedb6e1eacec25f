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
  group?: LinkGroup;
}

export interface ArchivePlan {
  records: PlannedRecord[];
  groups: LinkGroup[];
}

export function planArchive(tree: RootTree, dedupe: boolean): ArchivePlan {
  const records: PlannedRecord[] = [];
  const groupsByKey = new Map<string | FileInode, LinkGroup>();
  const groups: LinkGroup[] = [];

  const visit = (dir: TreeNode, prefix: string) => {
    for (const child of sortedChildren(dir)) {
      const path = prefix ? `${prefix}/${child.name}` : child.name;
      const record: PlannedRecord = { path, node: child };
      if (child.type === 'file' && child.file) {
        const inode = child.file;
        const key = dedupe && inode.size > 0 ? `${inode.sha256}:${inode.mode}:${inode.uid}:${inode.gid}` : inode;
        let group = groupsByKey.get(key);
        if (!group) {
          group = { inode, inputInodes: new Set(), members: 0 };
          groupsByKey.set(key, group);
          groups.push(group);
        }
        if (inode.sequence < group.inode.sequence) group.inode = inode;
        group.inputInodes.add(inode);
        group.members++;
        record.group = group;
      }
      records.push(record);
      if (child.type === 'directory') visit(child, path);
    }
  };
  visit(tree.root, '');
  return { records, groups };
}

function sortedChildren(dir: TreeNode): TreeNode[] {
  const children = [...(dir.children?.values() ?? [])].map((node) => ({ node, key: Buffer.from(node.name) }));
  children.sort((a, b) => Buffer.compare(a.key, b.key));
  return children.map((c) => c.node);
}
