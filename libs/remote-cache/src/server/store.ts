/**
 * The entries on disk: `<dir>/store/v1/cache/<hash>` and its digest `<hash>.sha256`. An upload
 * streams to `<dir>/tmp/` through sha256, then the digest and the entry are moved into place;
 * a download is served only when the bytes on disk still have the digest of their upload.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DIGEST_SUFFIX, digestLine, newSha256, parseDigestLine, sha256OfFile } from './digest';

export type Log = (line: string) => void;

/** An entry whose bytes matched their digest, opened for sending. The caller closes `file`. */
export interface VerifiedEntry {
  file: FileHandle;
  size: number;
}

export class UploadTooLarge extends Error {
  override name = 'UploadTooLarge';
}

export class IncompleteUpload extends Error {
  override name = 'IncompleteUpload';
}

export class EntryStore {
  readonly entriesDir: string;
  private readonly tempDir: string;
  /** Per-hash queue: finishing an upload and removing a bad entry never interleave for one hash. */
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(
    dir: string,
    private readonly log: Log,
  ) {
    this.entriesDir = join(dir, 'store/v1/cache');
    this.tempDir = join(dir, 'tmp/uploads');
  }

  /** Creates the folders and drops uploads a previous run left half-written. */
  async prepare(): Promise<void> {
    await rm(this.tempDir, { recursive: true, force: true });
    await mkdir(this.tempDir, { recursive: true });
    await mkdir(this.entriesDir, { recursive: true });
  }

  entryPath(hash: string): string {
    return join(this.entriesDir, hash);
  }

  digestPath(hash: string): string {
    return join(this.entriesDir, hash + DIGEST_SUFFIX);
  }

  async has(hash: string): Promise<boolean> {
    return (await stat(this.entryPath(hash)).catch(() => undefined)) !== undefined;
  }

  /** The hashes of the stored entries (digest files and anything else left out). */
  async hashes(): Promise<string[]> {
    const names = await readdir(this.entriesDir).catch(() => []);
    return names.filter((name) => isEntryName(name));
  }

  /** Digest files whose entry is gone (a crash between the two renames, or a manual delete). */
  async orphanDigests(): Promise<string[]> {
    const names = new Set(await readdir(this.entriesDir).catch(() => []));
    return [...names].filter((name) => name.endsWith(DIGEST_SUFFIX) && !names.has(name.slice(0, -DIGEST_SUFFIX.length))).map((name) => join(this.entriesDir, name));
  }

  /**
   * Streams an upload to a temp file, hashing it on the way, and moves it into place when the
   * whole body arrived. 'exists' when another upload of the same hash finished first (the first
   * one stays). An interrupted or oversized upload throws and leaves nothing behind.
   */
  async receive(hash: string, body: Readable, limits: { maxBytes: number; expectedBytes?: number }): Promise<'stored' | 'exists'> {
    const temp = join(this.tempDir, `${hash}.${randomBytes(6).toString('hex')}`);
    const sha256 = newSha256();
    let received = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        if (received > limits.maxBytes) return done(new UploadTooLarge(`more than ${limits.maxBytes} bytes`));
        sha256.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, measure, createWriteStream(temp, { flags: 'wx' }));
      if (limits.expectedBytes !== undefined && received !== limits.expectedBytes) {
        throw new IncompleteUpload(`${received} of ${limits.expectedBytes} bytes`);
      }
      const hex = sha256.digest('hex');
      return await this.exclusively(hash, async () => {
        if (await this.has(hash)) return 'exists';
        // The digest lands first: an entry is never visible without the digest of its upload.
        const digestTemp = `${temp}${DIGEST_SUFFIX}`;
        await writeFile(digestTemp, digestLine(hex, hash), { flag: 'wx' });
        await rename(digestTemp, this.digestPath(hash));
        await rename(temp, this.entryPath(hash));
        return 'stored';
      });
    } finally {
      await rm(temp, { force: true });
      await rm(`${temp}${DIGEST_SUFFIX}`, { force: true });
    }
  }

  /**
   * Opens an entry for a download after checking its bytes against the digest of its upload.
   * A mismatch or a missing digest removes the entry and its digest, with one log line that
   * ends with `outcome`.
   */
  async openVerified(hash: string, outcome = 'removed, answered as a miss'): Promise<VerifiedEntry | 'missing' | 'removed'> {
    const file = await open(this.entryPath(hash), 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (!file) return 'missing';
    let keepOpen = false;
    try {
      const { size, ino } = await file.stat();
      const expected = parseDigestLine(await readFile(this.digestPath(hash), 'utf8').catch(() => ''));
      const actual = expected === undefined ? undefined : await sha256OfFile(file);
      if (expected !== undefined && actual === expected) {
        keepOpen = true;
        return { file, size };
      }
      const why = expected === undefined ? 'has no sha256 of its upload' : `does not match the sha256 of its upload (${expected} != ${actual})`;
      return (await this.removeBad(hash, ino, `cache-server: entry ${hash} ${why}: ${outcome}`)) ? 'removed' : 'missing';
    } finally {
      if (!keepOpen) await file.close();
    }
  }

  private async removeBad(hash: string, checkedInode: number, line: string): Promise<boolean> {
    return this.exclusively(hash, async () => {
      // Another request may have removed it already, and a new upload may have replaced it since:
      // only the file that was checked goes, and only its remover logs.
      const current = await stat(this.entryPath(hash)).catch(() => undefined);
      if (current?.ino !== checkedInode) return false;
      await rm(this.entryPath(hash), { force: true });
      await rm(this.digestPath(hash), { force: true });
      this.log(line);
      return true;
    });
  }

  private async exclusively<T>(hash: string, work: () => Promise<T>): Promise<T> {
    const before = this.busy.get(hash) ?? Promise.resolve();
    const mine = before.then(work, work);
    const settled = mine.catch(() => undefined);
    this.busy.set(hash, settled);
    try {
      return await mine;
    } finally {
      if (this.busy.get(hash) === settled) this.busy.delete(hash);
    }
  }
}

/** Nx's hashes are decimal digits; letters are allowed too, never dots or slashes. */
export function isEntryName(name: string): boolean {
  return /^[A-Za-z0-9]+$/.test(name);
}
