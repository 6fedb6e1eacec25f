/**
 * Content that stays on the build host (`FsEntry.sourcePath`): nothing is read in the first
 * pass (the entry's size is enough), a file is hashed only when another file has the same size
 * (as rdfind does: a file of a unique size has no duplicate), and it is read again when the
 * archive is written, never copied to the spool.
 */
import { createHash, hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { UserError } from '@hook/log';

/** A source file as the writer expects it; every later open checks the file is still so. */
export interface SourceFile {
  path: string;
  /** The entry that named it, for messages. */
  entryPath: string;
  /** From the entry (or a stat when the entry gives none). */
  size: number;
  /** Taken at the first open: a file read twice must not change in between. */
  mtimeMs?: number;
}

function cannotRead(entryPath: string, sourcePath: string, error: unknown): UserError {
  return new UserError(`initramfs entry '${entryPath}': cannot read its source file ${sourcePath}: ${(error as Error).message}`);
}

/** The source as the first pass takes it: without touching the file when the entry says its size. */
export function sourceOf(entryPath: string, sourcePath: string, size: number | undefined): SourceFile {
  if (size !== undefined) return { path: sourcePath, entryPath, size };
  let st;
  try {
    st = statSync(sourcePath);
  } catch (error) {
    throw cannotRead(entryPath, sourcePath, error);
  }
  return { path: sourcePath, entryPath, size: st.size };
}

function changed(entryPath: string, source: SourceFile, now: string): UserError {
  return new UserError(
    `initramfs entry '${entryPath}': its source file ${source.path} changed while the initramfs was written (${source.size} bytes expected, ${now}); nothing was written, run the build again with the source left alone`,
  );
}

export interface SourceReader {
  /** Fills target[offset, offset + length) with the file's bytes at `position`. */
  read(target: Buffer, offset: number, length: number, position: number): void;
  close(): void;
}

/** Opens a source file; a UserError when it is not a regular file of the expected size, or changed since it was last opened. */
export function reopenSource(entryPath: string, source: SourceFile): SourceReader {
  let fd: number;
  try {
    fd = openSync(source.path, 'r');
  } catch (error) {
    throw cannotRead(entryPath, source.path, error);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UserError(`initramfs entry '${entryPath}': its source ${source.path} is not a regular file`);
    if (st.size !== source.size) throw changed(entryPath, source, `${st.size} bytes now`);
    if (source.mtimeMs === undefined) source.mtimeMs = st.mtimeMs;
    else if (st.mtimeMs !== source.mtimeMs) throw changed(entryPath, source, 'the same size but modified since it was read');
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return {
    read(target, offset, length, position) {
      let done = 0;
      while (done < length) {
        const n = readSync(fd, target, offset + done, length - done, position + done);
        if (n === 0) throw changed(entryPath, source, `it ended at ${position + done} bytes`);
        done += n;
      }
    },
    close: () => closeSync(fd),
  };
}

/**
 * Reads the whole file with `buffer` (reused) and returns its sha256; with `keep`, a file that
 * fits the buffer is also returned as a copy, so the archive need not open it again.
 */
export function hashSource(source: SourceFile, buffer: Buffer, keep = false): { sha256: string; kept?: Buffer } {
  const reader = reopenSource(source.entryPath, source);
  try {
    if (source.size <= buffer.length) {
      const content = buffer.subarray(0, source.size);
      reader.read(content, 0, source.size, 0);
      // One-shot hashing: most files that need comparing are small, where a Hash object costs more than the bytes.
      return { sha256: hash('sha256', content), kept: keep ? Buffer.from(content) : undefined };
    }
    const hasher = createHash('sha256');
    for (let done = 0; done < source.size; ) {
      const n = Math.min(buffer.length, source.size - done);
      reader.read(buffer, 0, n, done);
      hasher.update(n === buffer.length ? buffer : buffer.subarray(0, n));
      done += n;
    }
    return { sha256: hasher.digest('hex') };
  } finally {
    reader.close();
  }
}
