/**
 * The root filesystem as it would look after unpacking the entry stream in order, the way
 * a tar is unpacked:
 * - the last entry for a path wins; a directory entry over a directory only updates its
 *   mode and owner, anything else replaces the old node (a replaced directory loses its
 *   children, as in Docker's layer unpacking);
 * - missing parents are created as directories 0755 root:root;
 * - intermediate symlinks are followed inside the tree (`lib/modules/x` lands in
 *   `usr/lib/modules/x` when `lib -> usr/lib`, as tar, cpio and the kernel do);
 * - exception: a directory entry for a path that is a symlink to a directory keeps the symlink
 *   (GNU tar's --keep-directory-symlink). Otherwise a kernel tar with `lib/` entries would
 *   replace a merged-/usr `lib -> usr/lib` link and hide the system's libraries;
 * - a non-directory in the way of a later entry's parent is replaced by a directory.
 */
import { UserError } from '@hook/log';
import type { FsEntry } from './entry';
import type { SourceFile } from './source';

export type NodeType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo';

/** A regular file's inode: shared by the names an input hard link gives it. */
export interface FileInode {
  /** Unset for a build-host file of a size no other file has (see hashWhereSizesCollide). */
  sha256?: string;
  size: number;
  /** Offset of the content in the spool. */
  offset: number;
  /** Set when the content is read from this build-host file instead of the spool. */
  source?: SourceFile;
  /** The source's content, kept from hashing it until the archive has written it. */
  kept?: Buffer;
  mode: number;
  uid: number;
  gid: number;
  origin?: string;
  /** Input position of the entry that created it (the earliest owner of the content). */
  sequence: number;
}

export interface TreeNode {
  name: string;
  type: NodeType;
  parent?: TreeNode;
  mode: number;
  uid: number;
  gid: number;
  origin?: string;
  /** Created only because a child needed it. */
  implicit?: boolean;
  children?: Map<string, TreeNode>;
  file?: FileInode;
  linkTarget?: string;
  devMajor?: number;
  devMinor?: number;
}

export interface TreeCounters {
  /** Entries read. */
  input: number;
  /** Entries that replaced or updated an earlier entry's path (not a directory created as a parent). */
  replaced: number;
  /** Entries ignored: the root directory itself. */
  ignored: number;
  /** Directory entries that kept an existing symlink to a directory. */
  keptDirectorySymlinks: number;
}

const NAME_MAX = 255;
const PATH_MAX = 4096;
const MAX_SYMLINK_HOPS = 40;
const KNOWN_TYPES = new Set(['file', 'directory', 'symlink', 'hardlink', 'char', 'block', 'fifo']);

/** Splits an entry name into components: no leading `/` or `./`, `.` dropped, `..` cannot leave the root. */
export function splitPath(path: string): string[] {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts;
}

export class RootTree {
  readonly root: TreeNode = { name: '', type: 'directory', mode: 0o755, uid: 0, gid: 0, children: new Map() };
  readonly counters: TreeCounters = { input: 0, replaced: 0, ignored: 0, keptDirectorySymlinks: 0 };

  /**
   * Applies one entry. `file` is the stored content for a `file` entry.
   * Throws a UserError naming the entry when it cannot be represented.
   */
  add(entry: FsEntry, file?: Omit<FileInode, 'mode' | 'uid' | 'gid' | 'origin' | 'sequence'>): void {
    const sequence = this.counters.input++;
    validateEntry(entry);
    const parts = splitPath(entry.path);
    if (parts.length === 0) {
      this.counters.ignored++;
      return;
    }
    const name = parts[parts.length - 1];
    const parent = this.parentFor(parts, entry);
    const existing = parent.children!.get(name);

    if (entry.type === 'directory') {
      if (existing?.type === 'directory') {
        if (!existing.implicit) this.counters.replaced++;
        Object.assign(existing, { mode: entry.mode & 0o7777, uid: entry.uid, gid: entry.gid, origin: entry.origin, implicit: false });
        return;
      }
      if (existing?.type === 'symlink' && this.resolveDirectory(existing, 0)) {
        this.counters.keptDirectorySymlinks++;
        return;
      }
    }

    let node: TreeNode;
    if (entry.type === 'hardlink') {
      node = this.linkedNode(entry, name, parent);
    } else {
      node = {
        name,
        type: entry.type,
        parent,
        mode: entry.mode & 0o7777,
        uid: entry.uid,
        gid: entry.gid,
        origin: entry.origin,
      };
      if (entry.type === 'directory') node.children = new Map();
      if (entry.type === 'symlink') node.linkTarget = entry.linkTarget;
      if (entry.type === 'char' || entry.type === 'block') {
        node.devMajor = entry.devMajor;
        node.devMinor = entry.devMinor;
      }
      if (entry.type === 'file') {
        if (!file) throw new Error(`internal: no stored content for ${entry.path}`);
        node.file = { ...file, mode: node.mode, uid: entry.uid, gid: entry.gid, origin: entry.origin, sequence };
      }
    }
    if (existing) this.counters.replaced++;
    parent.children!.set(name, node);
  }

  /** Every regular file's inode once (hard-linked names share one), in no particular order. */
  fileInodes(): Set<FileInode> {
    const inodes = new Set<FileInode>();
    const pending: TreeNode[] = [this.root];
    for (let dir = pending.pop(); dir; dir = pending.pop()) {
      for (const child of dir.children!.values()) {
        if (child.file) inodes.add(child.file);
        else if (child.type === 'directory') pending.push(child);
      }
    }
    return inodes;
  }

  /** Finds a node by path without following a final symlink (intermediate ones are followed). */
  lookup(path: string): TreeNode | undefined {
    const parts = splitPath(path);
    let current = this.root;
    for (let i = 0; i < parts.length; i++) {
      const child = current.children?.get(parts[i]);
      if (!child) return undefined;
      if (i === parts.length - 1) return child;
      const dir = child.type === 'symlink' ? this.resolveDirectory(child, 0) : child;
      if (!dir || dir.type !== 'directory') return undefined;
      current = dir;
    }
    return current;
  }

  /** Walks to the directory that will hold the last component, creating missing ones. */
  private parentFor(parts: string[], entry: FsEntry): TreeNode {
    let current = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i];
      let child = current.children!.get(part);
      if (child?.type === 'symlink') {
        const target = this.resolveDirectory(child, 0);
        if (!target) {
          throw new UserError(
            `initramfs entry '${entry.path}': '${parts.slice(0, i + 1).join('/')}' is a symlink to '${child.linkTarget}', which is not a directory in the image; fix the image so the path leads to a directory`,
          );
        }
        current = target;
        continue;
      }
      if (!child || child.type !== 'directory') {
        if (child) this.counters.replaced++;
        child = { name: part, type: 'directory', parent: current, mode: 0o755, uid: 0, gid: 0, origin: entry.origin, implicit: true, children: new Map() };
        current.children!.set(part, child);
      }
      current = child;
    }
    return current;
  }

  /** Follows a symlink inside the tree to a directory node, or undefined. */
  private resolveDirectory(link: TreeNode, hops: number): TreeNode | undefined {
    if (hops >= MAX_SYMLINK_HOPS || link.linkTarget === undefined) return undefined;
    let current: TreeNode = link.linkTarget.startsWith('/') ? this.root : link.parent ?? this.root;
    for (const part of link.linkTarget.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        current = current.parent ?? this.root;
        continue;
      }
      let child = current.children?.get(part);
      if (child?.type === 'symlink') child = this.resolveDirectory(child, hops + 1);
      if (!child || child.type !== 'directory') return undefined;
      current = child;
    }
    return current.type === 'directory' ? current : undefined;
  }

  /** A tar hard link: the new name shares the target's inode as it is at this point of the stream. */
  private linkedNode(entry: FsEntry, name: string, parent: TreeNode): TreeNode {
    const targetPath = entry.linkTarget ?? '';
    const target = this.lookup(targetPath);
    if (!target) {
      throw new UserError(`initramfs entry '${entry.path}' is a hard link to '${targetPath}', which does not exist earlier in the image; fix the image or its layer order`);
    }
    if (target.type === 'directory') {
      throw new UserError(`initramfs entry '${entry.path}' is a hard link to the directory '${targetPath}'; directories cannot be hard-linked`);
    }
    const { children: _children, parent: _parent, ...fields } = target;
    return { ...fields, name, parent, implicit: false };
  }
}

function validateEntry(entry: FsEntry): void {
  const where = `initramfs entry '${entry.path}'`;
  if (!KNOWN_TYPES.has(entry.type)) throw new UserError(`${where} has an unsupported type '${String(entry.type)}'`);
  if (entry.path.includes('\0')) throw new UserError(`${where} has a NUL byte in its name`);
  if (Buffer.byteLength(entry.path) >= PATH_MAX) throw new UserError(`${where}: the path is longer than the kernel's limit of ${PATH_MAX - 1} bytes`);
  for (const part of entry.path.split('/')) {
    if (Buffer.byteLength(part) > NAME_MAX) throw new UserError(`${where}: the name '${part.slice(0, 40)}...' is longer than ${NAME_MAX} bytes`);
  }
  for (const [field, value] of [['uid', entry.uid], ['gid', entry.gid], ['mode', entry.mode]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new UserError(`${where} has an invalid ${field} ${value}`);
  }
  if (entry.type === 'symlink' || entry.type === 'hardlink') {
    if (!entry.linkTarget) throw new UserError(`${where} is a ${entry.type} without a target`);
    if (Buffer.byteLength(entry.linkTarget) >= PATH_MAX) throw new UserError(`${where}: the link target is longer than ${PATH_MAX - 1} bytes`);
  }
  if (entry.type === 'char' || entry.type === 'block') {
    for (const value of [entry.devMajor, entry.devMinor]) {
      if (value === undefined || !Number.isInteger(value) || value < 0) throw new UserError(`${where} is a ${entry.type} device without valid major/minor numbers`);
    }
  }
}
