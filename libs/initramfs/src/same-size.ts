/**
 * De-duplication compares contents only among files of equal size, so a build-host file
 * (`FsEntry.sourcePath`) is hashed only when another file in the tree has its size, as
 * rdfind's first filter does. Content from image layers is hashed anyway while it is spooled.
 * On a Debian-like root most large files (modules, binaries) have a size of their own, which
 * saves reading them once more.
 *
 * The hashing happens while the archive is written: a size class is hashed when the archive
 * reaches its first file (plan.ts groups it then), so it overlaps with the compressor's work
 * and the archive keeps its sorted order.
 */
import { hashSource } from './source';
import type { FileInode, RootTree } from './tree';

const READ_SIZE = 1 << 20;
/**
 * Files up to this size are kept in memory from hashing to writing (saving a second open and
 * read), up to KEEP_LIMIT over the whole archive, which bounds the memory it can take.
 */
const KEEP_MAX_FILE = 256 << 10;
const KEEP_LIMIT = 48 << 20;

export class SameSizeHashing {
  /** Every non-empty file of a size shared with a build-host file that has no hash yet. */
  readonly heldBack = new Set<FileInode>();
  hashedBytes = 0;
  hashedFiles = 0;
  private keptBytes = 0;
  private buffer?: Buffer;

  constructor(tree: RootTree) {
    const bySize = new Map<number, FileInode[]>();
    for (const inode of tree.fileInodes()) {
      if (inode.size === 0) continue;
      const same = bySize.get(inode.size);
      if (same) same.push(inode);
      else bySize.set(inode.size, [inode]);
    }
    for (const same of bySize.values()) {
      if (same.length < 2 || same.every((inode) => inode.sha256 !== undefined)) continue;
      for (const inode of same) this.heldBack.add(inode);
    }
  }

  /** Hashes those of `inodes` that have no hash yet, keeping small ones for the archive (FileInode.kept). */
  hash(inodes: Iterable<FileInode>): void {
    for (const inode of inodes) {
      if (inode.sha256 !== undefined) continue;
      this.buffer ??= Buffer.allocUnsafe(READ_SIZE);
      const keep = inode.size <= KEEP_MAX_FILE && this.keptBytes + inode.size <= KEEP_LIMIT;
      const { sha256, kept } = hashSource(inode.source!, this.buffer, keep);
      inode.sha256 = sha256;
      if (kept) {
        inode.kept = kept;
        this.keptBytes += kept.length;
      }
      this.hashedBytes += inode.size;
      this.hashedFiles++;
    }
  }
}
