/**
 * Content that stays on the build host (`FsEntry.sourcePath`): hashed in the first pass,
 * read again when the archive is written, and never copied to the spool.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '@hook/log';

/** What the first pass saw of a source file; the second pass checks the file is still so. */
export interface SourceFile {
  path: string;
  size: number;
  mtimeMs: number;
}

function openSource(entryPath: string, sourcePath: string): number {
  try {
    return openSync(sourcePath, 'r');
  } catch (error) {
    throw new UserError(`initramfs entry '${entryPath}': cannot read its source file ${sourcePath}: ${(error as Error).message}`);
  }
}

function changed(entryPath: string, source: SourceFile, now: string): UserError {
  return new UserError(
    `initramfs entry '${entryPath}': its source file ${source.path} changed while the initramfs was written (${source.size} bytes when read, ${now}); nothing was written, run the build again with the source left alone`,
  );
}

/** Reads the whole file with `buffer` (reused), returning its sha256 and what it looked like. */
export function hashSource(entryPath: string, sourcePath: string, buffer: Buffer): { sha256: string; source: SourceFile } {
  const fd = openSource(entryPath, sourcePath);
  try {
    const before = fstatSync(fd);
    if (!before.isFile()) throw new UserError(`initramfs entry '${entryPath}': its source ${sourcePath} is not a regular file`);
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, size);
      if (n === 0) break;
      hash.update(n === buffer.length ? buffer : buffer.subarray(0, n));
      size += n;
    }
    const source = { path: sourcePath, size: before.size, mtimeMs: before.mtimeMs };
    if (size !== before.size) throw changed(entryPath, source, `${size} bytes read`);
    return { sha256: hash.digest('hex'), source };
  } finally {
    closeSync(fd);
  }
}

export interface SourceReader {
  /** Fills target[offset, offset + length) with the file's bytes at `position`. */
  read(target: Buffer, offset: number, length: number, position: number): void;
  close(): void;
}

/** Opens a source file again for the archive; a UserError when it is not what the first pass saw. */
export function reopenSource(entryPath: string, source: SourceFile): SourceReader {
  const fd = openSource(entryPath, source.path);
  try {
    const st = fstatSync(fd);
    if (st.size !== source.size || st.mtimeMs !== source.mtimeMs) {
      throw changed(entryPath, source, st.size !== source.size ? `${st.size} bytes now` : 'the same size but modified since');
    }
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
