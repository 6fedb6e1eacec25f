/**
 * One entry of a root filesystem as the assembler produces it and the initramfs writer
 * consumes it. The model is a tar header: LinuxKit builds its image as a tar stream, and
 * the same path may appear several times (the last one wins when unpacked).
 */
import type { Readable } from 'node:stream';

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface FsEntry {
  /** Relative path without leading '/' or trailing '/', e.g. `etc/hosts`. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch; writers clamp it to SOURCE_DATE_EPOCH. */
  mtime: number;
  /** Symlink target (as stored), or for `hardlink` the path of the entry it links to. */
  linkTarget?: string;
  devMajor?: number;
  devMinor?: number;
  /** Size in bytes of a `file`. */
  size?: number;
  /** The content of a `file`; called at most once. */
  content?: () => Readable | Buffer;
  /**
   * A `file` whose content is this regular file on the build host, which can be read again.
   * The writer then reads the file itself (`content` is not called): once to hash it, and once
   * more when the archive is written, instead of copying it to its spool. The file must stay
   * unchanged until writeInitramfs returns; a change of size or mtime fails the write.
   */
  sourcePath?: string;
  /** Where the entry comes from (e.g. the image name), for the size report's per-image figures. */
  origin?: string;
}
