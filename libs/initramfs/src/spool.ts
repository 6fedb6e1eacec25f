/**
 * Content-addressed spool: file contents are streamed once into a single pack file while
 * their sha256 is computed; content already in the pack is not kept twice. The archive is
 * written afterwards from the pack, so memory stays bounded whatever the image size.
 *
 * One pack file instead of one file per blob: a root filesystem has ~100k mostly small files
 * and per-file open/close would dominate the time.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { makeTempDir, removeOnInterrupt } from '@hook/process';
import { sourceOf, type SourceFile } from './source';

const WRITE_BUFFER_SIZE = 1 << 20;

export interface StoredContent {
  /**
   * Set for content in the pack. A build-host file (`source`) gets it only when another
   * file has the same size (`hashWhereSizesCollide`): a unique size needs no comparison.
   */
  sha256?: string;
  size: number;
  /** Where the content starts in the pack (when `source` is not set). */
  offset: number;
  /** The content is not in the pack but in this file on the build host, read again when written. */
  source?: SourceFile;
}

export class ContentSpool {
  private readonly byHash = new Map<string, StoredContent>();
  private readonly buffer = Buffer.allocUnsafe(WRITE_BUFFER_SIZE);
  private buffered = 0;
  /** Pack bytes before `buffer`; also where the buffer goes when flushed. */
  private flushedEnd = 0;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly fd: number,
  ) {}

  /** The spool lives in Hook's temp folder (or in `parentDir`) and goes if the build is interrupted. */
  static async create(parentDir?: string): Promise<ContentSpool> {
    const dir = parentDir ? await mkdtemp(join(parentDir, `hook-initramfs-${process.pid}-`)) : await makeTempDir('initramfs');
    if (parentDir) removeOnInterrupt(dir);
    const fd = openSync(join(dir, 'content.pack'), 'w+', 0o600);
    return new ContentSpool(dir, fd);
  }

  /** Distinct contents stored so far. */
  get distinctContents(): number {
    return this.byHash.size;
  }

  /** Bytes of distinct content in the pack. */
  get packedBytes(): number {
    return this.flushedEnd + this.buffered;
  }

  /**
   * Streams content into the pack. Identical content is kept once: when the hash turns out
   * to be known, the bytes just written are given back (the pack end moves back).
   */
  async store(content: Readable | Buffer | Uint8Array | string | undefined): Promise<StoredContent> {
    const start = this.packedBytes;
    if (content === undefined || typeof content === 'string' || content instanceof Uint8Array) {
      // Whole content in memory: hash first, so a duplicate costs no spool I/O.
      const data = content === undefined ? Buffer.alloc(0) : Buffer.isBuffer(content) ? content : Buffer.from(content as Uint8Array | string);
      const sha256 = createHash('sha256').update(data).digest('hex');
      const known = this.byHash.get(sha256);
      if (known !== undefined) return known;
      if (data.length === 0) return { sha256, size: 0, offset: 0 };
      this.append(data);
      return this.remember({ sha256, size: data.length, offset: start });
    }
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of content) {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      hash.update(data);
      size += data.length;
      this.append(data);
    }
    const sha256 = hash.digest('hex');
    const known = this.byHash.get(sha256);
    if (known !== undefined) {
      this.rewind(start);
      return known;
    }
    if (size === 0) return { sha256, size, offset: 0 };
    return this.remember({ sha256, size, offset: start });
  }

  /**
   * A file on the build host, not copied to the pack: the archive reads it again (see
   * `FsEntry.sourcePath`). With the entry's size nothing is read yet.
   */
  storeSource(entryPath: string, sourcePath: string, size?: number): StoredContent {
    const source = sourceOf(entryPath, sourcePath, size);
    return source.size === 0 ? { size: 0, offset: 0 } : { size: source.size, offset: 0, source };
  }

  /** Makes everything stored readable through `readInto`. */
  finishWriting(): void {
    this.flush();
  }

  /** Reads `length` bytes at pack `position` into `target` at `targetOffset`. */
  readInto(target: Buffer, targetOffset: number, length: number, position: number): void {
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, target, targetOffset + done, length - done, position + done);
      if (n === 0) throw new Error(`spool pack ended early at ${position + done}`);
      done += n;
    }
  }

  async dispose(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      closeSync(this.fd);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private remember(stored: StoredContent & { sha256: string }): StoredContent {
    this.byHash.set(stored.sha256, stored);
    return stored;
  }

  private append(chunk: Buffer): void {
    if (chunk.length >= WRITE_BUFFER_SIZE / 2) {
      this.flush();
      this.writeAt(chunk, this.flushedEnd);
      this.flushedEnd += chunk.length;
      return;
    }
    if (this.buffered + chunk.length > WRITE_BUFFER_SIZE) this.flush();
    chunk.copy(this.buffer, this.buffered);
    this.buffered += chunk.length;
  }

  private flush(): void {
    if (this.buffered === 0) return;
    this.writeAt(this.buffer.subarray(0, this.buffered), this.flushedEnd);
    this.flushedEnd += this.buffered;
    this.buffered = 0;
  }

  private writeAt(data: Buffer, position: number): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, position + done);
  }

  /** Moves the end of the pack back to `position`; later content overwrites what follows. */
  private rewind(position: number): void {
    if (position >= this.flushedEnd) {
      this.buffered = position - this.flushedEnd;
    } else {
      this.buffered = 0;
      this.flushedEnd = position;
    }
  }
}
