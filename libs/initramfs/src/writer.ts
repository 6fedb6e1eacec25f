/**
 * writeInitramfs: the entry stream to a compressed cpio newc initramfs in one pass, doing
 * what upstream Hook did with `cpio -idmu`, `rdfind -makehardlinks true`,
 * `find . | cpio -o -H newc` and `zstd -9`.
 *
 * 1. Read the entries in order, streaming file contents into a content-addressed spool
 *    (bounded memory) and applying them to an in-memory tree (last entry wins). Build-host
 *    files (`sourcePath`) are not read yet.
 * 2. Plan the archive: sorted, parents first, identical files grouped as hard links.
 * 3. Stream the cpio through the compressor into `<output>.tmp-<pid>`, renamed when complete.
 *    Build-host files whose size another file shares are hashed (and grouped) on the way,
 *    while the compressor works on the part before them.
 *
 * Reproducibility: every mtime is the epoch (SOURCE_DATE_EPOCH, else LinuxKit's 1492533000),
 * not min(mtime, epoch): image layers built at different times then still give the same
 * bytes, and hard-linked names need one mtime anyway. Inode numbers count from 1 in archive
 * order, c_dev is 0:0, and nothing of the build host (names, device numbers, times) is written.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Progress, UserError, formatBytes, log } from '@hook/log';
import { spawnFilter } from '@hook/process';
import { ChunkPool, cpioChunks, type ArchiveProgress } from './archive';
import type { FsEntry } from './entry';
import { groupRecords, planArchive, type ArchivePlan, type PlannedRecord } from './plan';
import { collectSizeData, type SizeData } from './size-data';
import { SameSizeHashing } from './same-size';
import { ContentSpool } from './spool';
import { RootTree } from './tree';
import { LINUXKIT_EPOCH, setting } from '@hook/settings';

export type Compression = 'zstd' | 'gzip' | 'none';


/**
 * The release default: zstd -19 with a 128 MiB long-distance window (--long=27). Measured on the
 * real hook-debian-amd64 cpio (257.5 MiB: Go binaries, .ko.xz modules, libraries), zstd 1.5.7,
 * 2 threads on 2 busy cores (bench/size.ts --levels): -9 102.0 MB in 9 s; -9 --long=27 93.7 MB
 * in 8 s; -15 --long=27 91.0 MB in 128 s; -19 93.8 MB in 201 s; -19 --long=27 84.2 MB in 257 s.
 * The window finds what dockerd, containerd, its shim and the docker CLI share (the same Go
 * packages, far apart); an 8 MiB window cannot. The kernel allocates the window to unpack the
 * initramfs (128 MiB for a moment; the boot tests unpack it with 2 GiB and bench/size.ts with
 * 1 GiB). For development, HOOK_INITRAMFS_LEVEL=9 keeps the window: 8% larger, 30x faster.
 */
export const DEFAULT_ZSTD_LEVEL = 19;
/** zstd --long window log by default (0: none). */
export const DEFAULT_LONG_WINDOW = 27;
export const DEFAULT_GZIP_LEVEL = 9;

export interface InitramfsOptions {
  /** Path of the initramfs to write. */
  output: string;
  compression?: Compression;
  /** zstd 1..22 (default DEFAULT_ZSTD_LEVEL, 19; 20..22 are zstd's --ultra levels), gzip 1..9 (default 9). */
  level?: number;
  /**
   * zstd's long-distance matching window as a power of two (`--long=N`, 10..27), or 0 for none
   * (default for zstd: DEFAULT_LONG_WINDOW, 27; gzip has none). The kernel allocates the window when it unpacks the initramfs, so 27 costs
   * 128 MiB of RAM for that moment; zstd's own ceiling for --long is 27 by default.
   */
  longWindow?: number;
  /** mtime of every entry; default: env SOURCE_DATE_EPOCH, else 1492533000. */
  sourceDateEpoch?: number;
  /** Store identical regular files once, as hard links (default true). */
  dedupe?: boolean;
  /** Where file contents are spooled while the archive is planned (default: the OS temp dir). */
  spoolDir?: string;
  /** Environment used for SOURCE_DATE_EPOCH (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface EntryCounts {
  /** Entries read from the input. */
  input: number;
  /** Records in the archive (without the trailer). */
  archived: number;
  /** Regular file names (including hard-linked ones). */
  files: number;
  directories: number;
  /** Directories created because an entry needed a parent. */
  implicitDirectories: number;
  symlinks: number;
  /** Character and block devices. */
  devices: number;
  fifos: number;
  /** File names whose data is stored under another name (hard links in the archive). */
  hardlinks: number;
  /** Input entries that replaced or updated an earlier entry for the same path. */
  replaced: number;
}

export interface DedupeFigures {
  enabled: boolean;
  /** Groups of names that share one copy of the data. */
  groups: number;
  /** Files (input inodes) merged into another file with the same content, mode and owner. */
  linkedByContent: number;
  /** Content bytes not written because they were identical to another file. */
  savedBytes: number;
}

export interface InitramfsResult {
  output: string;
  compression: Compression;
  level?: number;
  /** zstd --long window log, when used. */
  longWindow?: number;
  /** Size of the output file. */
  compressedSize: number;
  /** Size of the cpio archive before compression (what the kernel unpacks into RAM is close to it). */
  uncompressedSize: number;
  /** sha256 of the output file, hex. */
  sha256: string;
  sourceDateEpoch: number;
  entries: EntryCounts;
  dedupe: DedupeFigures;
  /** Content bytes in the archive (file data written once per group). */
  contentBytes: number;
  sizes: SizeData;
  durationMs: number;
}

export async function writeInitramfs(entries: AsyncIterable<FsEntry> | Iterable<FsEntry>, options: InitramfsOptions): Promise<InitramfsResult> {
  const started = Date.now();
  const compression = options.compression ?? 'zstd';
  const level = resolveLevel(compression, options.level);
  const longWindow = resolveLongWindow(compression, options.longWindow ?? (compression === 'zstd' ? DEFAULT_LONG_WINDOW : 0));
  const epoch = resolveEpoch(options.sourceDateEpoch, options.env ?? process.env);
  const dedupe = options.dedupe ?? true;
  if (!options.output) throw new UserError('writeInitramfs needs an output path');

  const spool = await ContentSpool.create(options.spoolDir);
  try {
    const tree = new RootTree();
    const reading = new Progress('initramfs: reading entries');
    for await (const entry of entries) {
      let stored;
      if (entry.type === 'file') {
        stored = entry.sourcePath !== undefined ? spool.storeSource(entry.path, entry.sourcePath, entry.size) : await spool.store(entry.content?.());
        if (entry.size !== undefined && entry.size !== stored.size) {
          throw new UserError(`initramfs entry '${entry.path}': its content has ${stored.size} bytes but the entry says ${entry.size}; the image stream is corrupt`);
        }
      }
      tree.add(entry, stored);
      if (tree.counters.input % 1000 === 0) reading.update(tree.counters.input, 'entries');
    }
    spool.finishWriting();
    reading.finish(tree.counters.input, 'entries');

    const hashing = new SameSizeHashing(tree);
    const plan = planArchive(tree, dedupe, hashing.heldBack);

    const progress: ArchiveProgress = { bytes: 0 };
    const writing = new Progress(`initramfs: writing ${options.output}`);
    // Once the compressor holds all the input it works for minutes at release levels: say so once
    // instead of repeating the same figure every few seconds.
    let fed = -1;
    let fedAt = Date.now();
    let saidWaiting = false;
    const ticker = setInterval(() => {
      if (progress.bytes !== fed) {
        fed = progress.bytes;
        fedAt = Date.now();
        writing.update(fed);
      } else if (!saidWaiting && Date.now() - fedAt > 5000) {
        saidWaiting = true;
        log.info(`initramfs: ${formatBytes(fed)} handed to ${compression} -${level}${longWindow ? ` --long=${longWindow}` : ''}; waiting for it to finish`);
      }
    }, 1000);
    let written: { size: number; sha256: string };
    try {
      const records = recordsHashingOnTheWay(plan, hashing, dedupe);
      const pool = new ChunkPool();
      written = await writeCompressed(cpioChunks(records, spool, epoch, progress, pool), pool, options.output, compression, level, longWindow);
    } finally {
      clearInterval(ticker);
    }
    writing.finish(written.size);
    log.debug(`initramfs: hashed ${hashing.hashedFiles} build-host files of a shared size (${hashing.hashedBytes} bytes)`);
    const counts = countEntries(plan, tree);
    const dedupeFigures = dedupeFiguresOf(plan, dedupe);
    const contentBytes = plan.groups.reduce((sum, g) => sum + g.inode.size, 0);

    const result: InitramfsResult = {
      output: options.output,
      compression,
      level,
      ...(longWindow ? { longWindow } : {}),
      compressedSize: written.size,
      uncompressedSize: progress.bytes,
      sha256: written.sha256,
      sourceDateEpoch: epoch,
      entries: counts,
      dedupe: dedupeFigures,
      contentBytes,
      sizes: collectSizeData(plan),
      durationMs: Date.now() - started,
    };
    log.debug(`initramfs: ${JSON.stringify({ ...result, sizes: undefined })}`);
    return result;
  } finally {
    await spool.dispose();
  }
}

const LEVELS: Record<Exclude<Compression, 'none'>, { min: number; max: number; fallback: number }> = {
  zstd: { min: 1, max: 22, fallback: DEFAULT_ZSTD_LEVEL },
  gzip: { min: 1, max: 9, fallback: DEFAULT_GZIP_LEVEL },
};

function resolveLevel(compression: Compression, level: number | undefined): number | undefined {
  if (compression === 'none') return undefined;
  const range = LEVELS[compression];
  if (!range) throw new UserError(`unknown initramfs compression '${String(compression)}'; use zstd, gzip or none`);
  const value = level ?? range.fallback;
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new UserError(`initramfs ${compression} level ${value} is out of range; use ${range.min}..${range.max}`);
  }
  return value;
}

export function resolveEpoch(explicit: number | undefined, env: NodeJS.ProcessEnv): number {
  if (explicit !== undefined) {
    if (!Number.isInteger(explicit) || explicit < 0 || explicit > 0xffffffff) throw new UserError(`sourceDateEpoch ${explicit} is not a valid Unix time in seconds`);
    return explicit;
  }
  return setting(env, 'SOURCE_DATE_EPOCH') ?? LINUXKIT_EPOCH;
}

/**
 * The plan's records in order; a deferred size class is hashed and grouped when the first of
 * its files comes up, so the hashing runs while the compressor works on what came before.
 */
function* recordsHashingOnTheWay(plan: ArchivePlan, hashing: SameSizeHashing, dedupe: boolean): Generator<PlannedRecord> {
  for (const record of plan.records) {
    if (record.node.file && !record.group) {
      const sameSize = plan.deferred.get(record.node.file.size)!;
      hashing.hash(sameSize.map((r) => r.node.file!));
      groupRecords(plan, sameSize, dedupe);
      // Only a group's own inode is written; copies kept of the others are not needed.
      for (const r of sameSize) if (r.group!.inode !== r.node.file) r.node.file!.kept = undefined;
    }
    yield record;
  }
}

/** Streams the archive through the compressor into a temp file, renamed onto `output` when complete. */
/** zstd's --long window: 10..27 (see InitramfsOptions.longWindow), 0 or unset for none. */
export const MAX_LONG_WINDOW = 27;

function resolveLongWindow(compression: Compression, window: number | undefined): number | undefined {
  if (window === undefined || window === 0) return undefined;
  if (compression !== 'zstd') throw new UserError(`a long-distance window (HOOK_INITRAMFS_LONG) needs zstd compression, not ${compression}`);
  if (!Number.isInteger(window) || window < 10 || window > MAX_LONG_WINDOW) {
    throw new UserError(`initramfs zstd long window ${window} is out of range; use 10..${MAX_LONG_WINDOW} (2^N bytes the kernel allocates to unpack), or 0 for none`);
  }
  return window;
}

async function writeCompressed(chunks: Generator<Buffer>, pool: ChunkPool, output: string, compression: Compression, level: number | undefined, longWindow?: number): Promise<{ size: number; sha256: string }> {
  await mkdir(dirname(output), { recursive: true });
  const temp = `${output}.tmp-${process.pid}`;
  try {
    if (compression === 'zstd') {
      // An external program (Node 20's zlib has no zstd) that writes the file itself, so its output does not pass through here.
      const args = ['-T0', ...((level as number) > 19 ? ['--ultra'] : []), `-${level}`, ...(longWindow ? [`--long=${longWindow}`] : []), '-q', '-o', temp];
      const zstd = await spawnFilter('zstd', args);
      zstd.stdout.resume();
      // The cause first: a failed zstd breaks its stdin.
      await firstFailure([zstd.done, feed(chunks, zstd.stdin, pool)]);
    } else if (compression === 'gzip') {
      // zlib's gzip header has mtime 0 and no name, so the output is reproducible.
      const gzip = createGzip({ level });
      await firstFailure([pipeline(gzip, createWriteStream(temp, { mode: 0o644 })), feed(chunks, gzip, pool)]);
    } else {
      await feed(chunks, createWriteStream(temp, { mode: 0o644 }), pool);
    }
    const written = await digestFile(temp);
    await rename(temp, output);
    return written;
  } catch (error) {
    chunks.return(undefined); // closes the source file being read, if any
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Writes the chunks with backpressure, giving each back to the pool once the stream has taken
 * it. On failure the stream is destroyed, so a compressor reading it stops too.
 */
async function feed(chunks: Iterable<Buffer>, sink: Writable, pool: ChunkPool): Promise<void> {
  // Settles when the stream has finished, or as soon as it fails or closes (a program that never started, say).
  const closed = finished(sink);
  const closedEarly = closed.then(() => {
    throw new Error('the output stream closed before the archive was complete');
  });
  closedEarly.catch(() => undefined);
  try {
    for (const chunk of chunks) {
      if (sink.write(chunk, (error) => error || pool.give(chunk))) continue;
      const waiting = new AbortController();
      await Promise.race([once(sink, 'drain', { signal: waiting.signal }), closedEarly]).finally(() => waiting.abort());
    }
    sink.end();
    await closed;
  } catch (error) {
    sink.destroy();
    throw error;
  }
}

/** Waits for all; throws the first failure in the order given. */
async function firstFailure(steps: Promise<unknown>[]): Promise<void> {
  for (const outcome of await Promise.allSettled(steps)) {
    if (outcome.status === 'rejected') throw outcome.reason;
  }
}

/**
 * The written archive's size and sha256. The same as @hook/oci's sha256OfFile, kept here so the
 * initramfs writer does not depend on the registry library (it depends on log and process only).
 */
async function digestFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

function countEntries(plan: ArchivePlan, tree: RootTree): EntryCounts {
  const counts: EntryCounts = {
    input: tree.counters.input,
    archived: plan.records.length,
    files: 0,
    directories: 0,
    implicitDirectories: 0,
    symlinks: 0,
    devices: 0,
    fifos: 0,
    hardlinks: 0,
    replaced: tree.counters.replaced,
  };
  for (const { node } of plan.records) {
    if (node.type === 'file') counts.files++;
    else if (node.type === 'directory') {
      counts.directories++;
      if (node.implicit) counts.implicitDirectories++;
    } else if (node.type === 'symlink') counts.symlinks++;
    else if (node.type === 'fifo') counts.fifos++;
    else counts.devices++;
  }
  counts.hardlinks = plan.groups.reduce((sum, g) => sum + g.members - 1, 0);
  return counts;
}

function dedupeFiguresOf(plan: ArchivePlan, enabled: boolean): DedupeFigures {
  const figures: DedupeFigures = { enabled, groups: 0, linkedByContent: 0, savedBytes: 0 };
  for (const group of plan.groups) {
    if (group.members > 1) figures.groups++;
    const merged = group.inputInodes.size - 1;
    if (merged > 0) {
      figures.savedBytes += merged * group.inode.size;
      figures.linkedByContent += merged;
    }
  }
  return figures;
}
