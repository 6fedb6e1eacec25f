/**
 * Keeps the entry stream unpackable: the kernel's initramfs unpacker follows symlinks in parent
 * paths, cannot put anything below a regular file, and cannot replace a non-empty directory with
 * a file or symlink. LinuxKit writes such entries anyway and the kernel then silently does one of
 * those things at boot; here the same outcome is decided at build time, visibly:
 * - a child whose parent path goes through a symlink is re-rooted at the symlink's target;
 * - a child below a regular file (or device...) is dropped, with a warning;
 * - a non-directory that would replace a directory already holding entries is dropped, with a
 *   warning (the directory and its contents stay, as at boot).
 * So no entry is ever emitted below a symlink or a file.
 */
import { posix } from 'node:path';
import { log } from '@hook/log';
import type { EntryType, FsEntry } from '@hook/initramfs';
import { cleanPath } from './flatten';

const MAX_HOPS = 40; // as the kernel's MAXSYMLINKS
const MAX_WARNINGS = 10;

type Resolved = { path: string } | { blockedBy: string; type: EntryType | 'loop' };

export class TreeGuard {
  private readonly types = new Map<string, EntryType>();
  private readonly symlinks = new Map<string, string>();
  private readonly nonEmpty = new Set<string>();
  private warnings = 0;

  /** Returns the entry to emit (possibly re-rooted), or undefined to drop it. */
  admit(entry: FsEntry, source: string): FsEntry | undefined {
    const placed = this.place(entry.path);
    if ('blockedBy' in placed) {
      this.warn(`${source}: ${entry.path} dropped: ${placed.blockedBy} is ${placed.type === 'loop' ? 'a symlink loop' : `a ${placed.type}, not a directory`}`);
      return undefined;
    }
    let admitted = entry;
    if (placed.path !== entry.path) {
      log.debug(`${source}: ${entry.path} placed at ${placed.path} (a parent is a symlink)`);
      admitted = { ...admitted, path: placed.path };
    }
    if (entry.type === 'hardlink' && entry.linkTarget) {
      const target = this.place(entry.linkTarget);
      if ('path' in target && target.path !== entry.linkTarget) admitted = { ...admitted, linkTarget: target.path };
    }
    const path = admitted.path;
    if (this.types.get(path) === 'directory' && admitted.type !== 'directory' && this.nonEmpty.has(path)) {
      this.warn(`${source}: ${path} (${admitted.type}) dropped: ${path} is already a directory with contents`);
      return undefined;
    }
    this.types.set(path, admitted.type);
    if (admitted.type === 'symlink') this.symlinks.set(path, admitted.linkTarget ?? '');
    else this.symlinks.delete(path);
    for (let dir = posix.dirname(path); dir !== '.' && dir !== '/'; dir = posix.dirname(dir)) {
      if (this.nonEmpty.has(dir)) break;
      this.nonEmpty.add(dir);
      if (!this.types.has(dir)) this.types.set(dir, 'directory');
    }
    return admitted;
  }

  /** How many entries were dropped. */
  get dropped(): number {
    return this.warnings;
  }

  finish(): void {
    if (this.warnings > MAX_WARNINGS) log.warn(`${this.warnings - MAX_WARNINGS} more entries dropped (DEBUG=yes lists them)`);
  }

  private warn(message: string): void {
    this.warnings++;
    if (this.warnings <= MAX_WARNINGS) log.warn(message);
    else log.debug(message);
  }

  /** Where a path lands when its parent components are followed as the kernel would. */
  private place(path: string): Resolved {
    const parent = posix.dirname(path);
    const base = posix.basename(path);
    if (parent === '.') return { path };
    const dir = this.resolveDir(parent, 0);
    if ('blockedBy' in dir) return dir;
    return { path: dir.path ? `${dir.path}/${base}` : base };
  }

  private resolveDir(dir: string, hops: number): Resolved {
    let current = '';
    for (const part of dir.split('/')) {
      const candidate = current ? `${current}/${part}` : part;
      const type = this.types.get(candidate);
      if (type === 'symlink') {
        if (hops >= MAX_HOPS) return { blockedBy: candidate, type: 'loop' };
        const target = this.symlinks.get(candidate) ?? '';
        const joined = target.startsWith('/') ? cleanPath(target) : cleanPath(posix.join(current, target));
        if (joined === '') {
          current = '';
          continue;
        }
        const resolved = this.resolveDir(joined, hops + 1);
        if ('blockedBy' in resolved) return resolved;
        current = resolved.path;
      } else if (type !== undefined && type !== 'directory') {
        return { blockedBy: candidate, type };
      } else {
        current = candidate;
      }
    }
    return { path: current };
  }
}
