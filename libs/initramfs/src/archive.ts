/**
 * Serializes an archive plan as a cpio newc stream, reading file contents from the spool.
 *
 * Hard links follow GNU cpio's convention, which both `cpio -i` and the kernel's
 * init/initramfs.c accept: every name of a group carries the same inode number and
 * nlink = group size; all but the LAST name have c_filesize 0 and the last carries the data.
 * The kernel creates the first name empty, links each later name to it (find_link on
 * dev/ino/type) and opens it without O_TRUNC, so the data of the last name reaches all of them.
 */
import { encodeHeader, encodeTrailer, pad4, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, type NewcHeader } from './cpio';
import type { ArchiveRecord } from './segments';
import { reopenSource, type SourceFile } from './source';
import type { ContentSpool } from './spool';
import type { NodeType } from './tree';

const CHUNK_SIZE = 1 << 20;
/** c_dev is 0:<segment>: the build host's device numbers must not leak into the image. */
const ARCHIVE_DEV_MAJOR = 0;

const TYPE_BITS: Record<NodeType, number> = {
  file: S_IFREG,
  directory: S_IFDIR,
  symlink: S_IFLNK,
  char: S_IFCHR,
  block: S_IFBLK,
  fifo: S_IFIFO,
};

export interface ArchiveProgress {
  /** Uncompressed bytes produced so far. */
  bytes: number;
}

/**
 * Buffers for the archive's chunks, given back once the output stream has taken them: the
 * archive is hundreds of MiB, and a fresh 1 MiB buffer per chunk keeps the garbage collector busy.
 */
export class ChunkPool {
  private readonly free: ArrayBuffer[] = [];

  take(): Buffer {
    const reused = this.free.pop();
    return reused ? Buffer.from(reused) : Buffer.allocUnsafe(CHUNK_SIZE);
  }

  /** `chunk` is a view of a buffer from `take`; it must not be used after this. */
  give(chunk: Buffer): void {
    if (chunk.byteOffset === 0 && chunk.buffer.byteLength === CHUNK_SIZE) this.free.push(chunk.buffer as ArrayBuffer);
  }
}

/**
 * Yields the archive of `records` (grouped: see plan.ts) in chunks of about 1 MiB (small
 * records are packed together so the compressor is not fed 100k tiny writes). Records are
 * taken one at a time, as the chunks are asked for. Every mtime is `mtime`.
 */
export function* cpioChunks(records: Iterable<ArchiveRecord>, spool: ContentSpool, mtime: number, progress: ArchiveProgress, pool: ChunkPool, options: { trailer: boolean; offset?: number }): Generator<Buffer> {
  let chunk = pool.take();
  let used = 0;
  let written = 0;
  const emit = function* () {
    if (used === 0) return;
    progress.bytes += used;
    written += used;
    yield chunk.subarray(0, used);
    chunk = pool.take();
    used = 0;
  };
  const putBytes = function* (bytes: Buffer) {
    let done = 0;
    while (done < bytes.length) {
      if (used === CHUNK_SIZE) yield* emit();
      const n = Math.min(bytes.length - done, CHUNK_SIZE - used);
      bytes.copy(chunk, used, done, done + n);
      used += n;
      done += n;
    }
  };
  const putZeros = function* (count: number) {
    if (count === 0) return;
    if (used + count > CHUNK_SIZE) yield* emit();
    chunk.fill(0, used, used + count);
    used += count;
  };
  const putSpooled = function* (offset: number, size: number) {
    let done = 0;
    while (done < size) {
      if (used === CHUNK_SIZE) yield* emit();
      const n = Math.min(size - done, CHUNK_SIZE - used);
      spool.readInto(chunk, used, n, offset + done);
      used += n;
      done += n;
    }
  };

  const putSource = function* (path: string, source: SourceFile) {
    const reader = reopenSource(path, source);
    try {
      let done = 0;
      while (done < source.size) {
        if (used === CHUNK_SIZE) yield* emit();
        const n = Math.min(source.size - done, CHUNK_SIZE - used);
        reader.read(chunk, used, n, done);
        used += n;
        done += n;
      }
    } finally {
      reader.close();
    }
  };

  for (const record of records) {
    const node = record.node;
    const inode = record.inode;
    const header: NewcHeader = {
      ino: record.ino,
      mode: inode ? S_IFREG | inode.mode : TYPE_BITS[node.type] | (node.mode & 0o7777),
      uid: inode ? inode.uid : node.uid,
      gid: inode ? inode.gid : node.gid,
      nlink: record.nlink,
      mtime,
      filesize: 0,
      devMajor: ARCHIVE_DEV_MAJOR,
      devMinor: record.dev,
      rdevMajor: node.devMajor ?? 0,
      rdevMinor: node.devMinor ?? 0,
    };
    let data: Buffer | undefined;
    let spooled: { offset: number; size: number; source?: SourceFile } | undefined;
    if (inode && record.carriesData) {
      header.filesize = inode.size;
      // Kept from hashing: used once, then let go (a second pass reads the source again).
      if (inode.kept) {
        data = inode.kept;
        inode.kept = undefined;
      } else {
        spooled = { offset: inode.offset, size: inode.size, source: inode.source };
      }
    } else if (node.type === 'symlink') {
      data = Buffer.from(node.linkTarget ?? '');
      header.filesize = data.length;
    }

    const head = encodeHeader(header, Buffer.from(record.path));
    if (used + head.length > CHUNK_SIZE) yield* emit();
    yield* putBytes(head);
    if (data) {
      yield* putBytes(data);
      yield* putZeros(pad4(data.length));
    } else if (spooled) {
      if (spooled.source) yield* putSource(record.path, spooled.source);
      else yield* putSpooled(spooled.offset, spooled.size);
      yield* putZeros(pad4(spooled.size));
    }
  }

  if (options.trailer) {
    yield* putBytes(encodeTrailer());
    // Like GNU cpio, end on a 512-byte block boundary of the whole archive (`offset`: the bytes before this part).
    const total = (options.offset ?? 0) + written + used;
    yield* putZeros((512 - (total % 512)) % 512);
  }
  yield* emit();
}
