/**
 * Compressed segments kept by content: the key is the sha256 of a segment's uncompressed bytes
 * with the compressor, its version and its settings, so a hit is byte for byte what compressing
 * again would give. Each entry has a sidecar with the compressed file's sha256, checked before
 * use: a damaged entry is compressed again, never copied into an initramfs.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@hook/log';

/** Entries not used for this long are removed after a build. */
export const SEGMENT_CACHE_MAX_AGE_DAYS = 14;

export interface CachedSegment {
  path: string;
  size: number;
  sha256: string;
}

export class SegmentCache {
  constructor(readonly dir: string) {}

  keyOf(uncompressedSha256: string, uncompressedSize: number, method: string): string {
    return createHash('sha256').update(`${uncompressedSha256}:${uncompressedSize}:${method}`).digest('hex');
  }

  /** The entry for `key` when it is there and intact (its time is renewed); else undefined. */
  async get(key: string): Promise<CachedSegment | undefined> {
    const path = join(this.dir, `${key}.part`);
    let recorded: string[];
    try {
      recorded = (await readFile(`${path}.sha256`, 'utf8')).trim().split(' ');
    } catch {
      return undefined;
    }
    const actual = await digestFile(path).catch(() => undefined);
    if (!actual || actual.sha256 !== recorded[0] || String(actual.size) !== recorded[1]) {
      log.warn(`initramfs: the cached segment ${path} is damaged; compressing it again`);
      await this.remove(key);
      return undefined;
    }
    const now = new Date();
    await utimes(path, now, now).catch(() => undefined);
    return { path, ...actual };
  }

  /** Moves a finished compressed file into the cache under `key`. */
  async put(key: string, file: string): Promise<CachedSegment> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${key}.part`);
    const digest = await digestFile(file);
    await rename(file, path);
    // The sidecar last: an entry without one is not used.
    await writeFile(`${path}.sha256.tmp-${process.pid}`, `${digest.sha256} ${digest.size}\n`);
    await rename(`${path}.sha256.tmp-${process.pid}`, `${path}.sha256`);
    return { path, ...digest };
  }

  /** A place for a compressed file being written (same file system as the entries). */
  async tempPath(key: string): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    return join(this.dir, `${key}.tmp-${process.pid}`);
  }

  async remove(key: string): Promise<void> {
    const path = join(this.dir, `${key}.part`);
    await Promise.all([rm(path, { force: true }), rm(`${path}.sha256`, { force: true })]);
  }

  /** Removes entries (and stray temp files) not used for `maxAgeDays`; the bytes freed. */
  async prune(maxAgeDays = SEGMENT_CACHE_MAX_AGE_DAYS, now = Date.now()): Promise<number> {
    let freed = 0;
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info || now - info.mtimeMs < maxAgeDays * 86_400_000) continue;
      if (name.endsWith('.sha256')) continue; // goes with its entry
      freed += info.size;
      await rm(path, { force: true });
      if (name.endsWith('.part')) await rm(`${path}.sha256`, { force: true });
    }
    return freed;
  }
}

/** Size and sha256 of a file. */
export async function digestFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}
