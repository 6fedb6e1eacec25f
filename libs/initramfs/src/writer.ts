/**
 * writeInitramfs: the entry stream to a compressed cpio newc initramfs in one pass, doing
 * what upstream Hook did with `cpio -idmu`, `rdfind -makehardlinks true`,
 * `find . | cpio -o -H newc` and `zstd -9`.
 *
 * 1. Read the entries in order, streaming file contents into a content-addressed spool
 *    (bounded memory) and applying them to an in-memory tree (last entry wins). Build-host
 *    files (`sourcePath`) are not read yet.
 * 2. Plan the archive: sorted, parents first, identical files grouped as hard links.
 * 3. Split the archive into segments, one per origin (image), each compressed on its own and
 *    taken from a cache by content when it did not change (segments.ts, segment-cache.ts); join
 *    them into `<output>.tmp-<pid>`, renamed when complete. After one image changes, only its
 *    segment is compressed again: seconds instead of minutes at the release level.
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
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Progress, UserError, formatBytes, log } from '@hook/log';
import { run, spawnFilter } from '@hook/process';
import { ChunkPool, cpioChunks, type ArchiveProgress } from './archive';
import type { FsEntry } from './entry';
import { groupRecords, planArchive, type ArchivePlan } from './plan';
import { SEGMENT_CACHE_MAX_AGE_DAYS, SegmentCache, digestFile } from './segment-cache';
import { splitIntoSegments, type Segment } from './segments';
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
/**
 * The development level (`nx run <flavor>:build:dev`, `hook run`): zstd -9 with the same window,
 * about 11% larger than the release bytes (hook-debian-amd64: 92.6 vs 83.0 MiB, over the 100 MB
 * budget with the kernel) and many times faster to write.
 */
export const DEVELOPMENT_ZSTD_LEVEL = 9;
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
  /**
   * A directory of compressed segments kept by content (see segment-cache.ts): a segment whose
   * bytes did not change is taken from it instead of being compressed again. Default: none.
   */
  segmentCache?: string;
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
  /** The compressed segments the output is made of (one per origin). */
  segments: SegmentFigures;
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
    // The order the images come in: the initramfs's segments follow it.
    const origins = new Set<string>();
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
      origins.add(entry.origin ?? '');
      if (tree.counters.input % 1000 === 0) reading.update(tree.counters.input, 'entries');
    }
    spool.finishWriting();
    reading.finish(tree.counters.input, 'entries');

    const hashing = new SameSizeHashing(tree);
    const plan = planArchive(tree, dedupe, hashing.heldBack);
    groupDeferred(plan, hashing, dedupe);
    const segments = splitIntoSegments(plan, [...origins]);
    const method = { compression, level, longWindow };
    const cache = options.segmentCache ? new SegmentCache(options.segmentCache) : undefined;
    const written = await writeSegments(segments, spool, epoch, options.output, method, cache);
    if (cache) {
      const freed = await cache.prune();
      if (freed) log.info(`initramfs: removed ${formatBytes(freed)} of segments unused for ${SEGMENT_CACHE_MAX_AGE_DAYS} days from ${cache.dir}`);
    }
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
      uncompressedSize: written.uncompressedSize,
      segments: written.segments,
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
 * Groups the size classes hashing held back (see same-size.ts): the segments need every hard-link
 * group before the first byte is written.
 */
function groupDeferred(plan: ArchivePlan, hashing: SameSizeHashing, dedupe: boolean): void {
  for (const sameSize of plan.deferred.values()) {
    hashing.hash(sameSize.map((r) => r.node.file!));
    groupRecords(plan, sameSize, dedupe);
    // Only a group's own inode is written; copies kept of the others are not needed.
    for (const r of sameSize) if (r.group!.inode !== r.node.file) r.node.file!.kept = undefined;
  }
  plan.deferred.clear();
}

interface Method {
  compression: Compression;
  level?: number;
  longWindow?: number;
}

export interface SegmentFigures {
  count: number;
  /** Segments taken from the segment cache. */
  reused: number;
  /** Uncompressed bytes compressed by this build. */
  compressedBytes: number;
}

/**
 * The segments' archive, each part compressed on its own (or taken from the cache) and the
 * parts joined in order into `<output>.tmp-<pid>`, renamed onto `output` when complete.
 * 1. each segment's uncompressed bytes are produced once to hash them (the cache key);
 * 2. the parts the cache lacks are compressed, as many at a time as there are cores;
 * 3. the parts are joined, hashing the result.
 */
async function writeSegments(segments: Segment[], spool: ContentSpool, epoch: number, output: string, method: Method, cache?: SegmentCache): Promise<{ size: number; sha256: string; uncompressedSize: number; segments: SegmentFigures }> {
  // The trailer is a part of its own: its padding to a 512-byte boundary depends on the length
  // of everything before it, and no other part's bytes should.
  const TRAILER = segments.length;
  segments = [...segments, { origin: 'TRAILER!!!', records: [] }];
  const pool = new ChunkPool();
  /** Segment i's bytes; `offset`: the archive's bytes before it (only the trailer's padding uses it). */
  const chunksOf = (i: number, offset: number, progress: ArchiveProgress = { bytes: 0 }) => cpioChunks(segments[i].records, spool, epoch, progress, pool, { trailer: i === TRAILER, offset });
  await mkdir(dirname(output), { recursive: true });
  const temp = `${output}.tmp-${process.pid}`;
  const partsDir = `${output}.parts-${process.pid}`;
  try {
    if (method.compression === 'none') {
      const progress: ArchiveProgress = { bytes: 0 };
      const parts = segments.map((_, i) => () => chunksOf(i, progress.bytes, progress));
      await feed(concatGenerators(parts), createWriteStream(temp, { mode: 0o644 }), pool);
      const written = await digestFile(temp);
      await rename(temp, output);
      return { ...written, uncompressedSize: progress.bytes, segments: { count: segments.length, reused: 0, compressedBytes: 0 } };
    }

    const measuring = new Progress('initramfs: measuring segments');
    const measured: { sha256: string; size: number }[] = [];
    let total = 0;
    for (let i = 0; i < segments.length; i++) {
      const hash = createHash('sha256');
      let size = 0;
      for (const chunk of chunksOf(i, total)) {
        hash.update(chunk);
        size += chunk.length;
        pool.give(chunk);
      }
      measured.push({ sha256: hash.digest('hex'), size });
      total += size;
      measuring.update(total);
    }
    measuring.finish(total);

    const methodKey = `${method.compression}:${method.level}:${method.longWindow ?? 0}:${await compressorVersion(method.compression)}`;
    // A part split into jobs has other bytes than one compressed whole (see zstdJobBytes).
    const partMethodKey = (i: number) => {
      const jobBytes = method.compression === 'zstd' ? zstdJobBytes(measured[i].size) : undefined;
      return jobBytes ? `${methodKey}:B${jobBytes}` : methodKey;
    };
    const parts: (string | undefined)[] = new Array(segments.length);
    const missing: number[] = [];
    for (let i = 0; i < segments.length; i++) {
      const hit = cache ? await cache.get(cache.keyOf(measured[i].sha256, measured[i].size, partMethodKey(i))) : undefined;
      if (hit) parts[i] = hit.path;
      else missing.push(i);
    }
    // Largest first, so the longest compression starts at once.
    missing.sort((a, b) => measured[b].size - measured[a].size || a - b);
    const label = `${method.compression} -${method.level}${method.longWindow ? ` --long=${method.longWindow}` : ''}`;
    const compressedBytes = missing.reduce((sum, i) => sum + measured[i].size, 0);
    log.info(`initramfs: ${segments.length} segments (${formatBytes(total)}): ${segments.length - missing.length} from the cache, compressing ${missing.length} (${formatBytes(compressedBytes)}) with ${label}`);
    if (!cache) await mkdir(partsDir, { recursive: true });
    const compressing = new Progress(`initramfs: compressing with ${label}`);
    let done = 0;
    await inParallel(missing, availableParallelism(), async (i) => {
      const key = cache?.keyOf(measured[i].sha256, measured[i].size, partMethodKey(i));
      const target = cache ? await cache.tempPath(key!) : join(partsDir, String(i));
      const started = Date.now();
      const offset = measured.slice(0, i).reduce((sum, m) => sum + m.size, 0);
      await writeCompressed(chunksOf(i, offset), pool, target, method, measured[i].size);
      parts[i] = cache ? (await cache.put(key!, target)).path : target;
      done += measured[i].size;
      compressing.update(done);
      log.debug(`initramfs: segment ${segments[i].origin || '(no origin)'}: ${formatBytes(measured[i].size)} in ${Date.now() - started} ms`);
    });
    compressing.finish(done);

    await pipeline(concatFiles(parts as string[]), createWriteStream(temp, { mode: 0o644 }));
    const written = await digestFile(temp);
    await rename(temp, output);
    return { ...written, uncompressedSize: total, segments: { count: segments.length, reused: segments.length - missing.length, compressedBytes } };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    await rm(partsDir, { recursive: true, force: true });
  }
}

function* concatGenerators(parts: (() => Generator<Buffer>)[]): Generator<Buffer> {
  for (const part of parts) yield* part();
}

async function* concatFiles(files: string[]): AsyncGenerator<Buffer> {
  for (const file of files) for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
}

/** Runs `work` over `items`, at most `limit` at a time; the first failure wins once all settled. */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await firstFailure(lanes);
}

/** The compressor's version, part of the cache key: another version may write other bytes. */
async function compressorVersion(compression: Compression): Promise<string> {
  if (compression === 'gzip') return `zlib ${process.versions.zlib}`;
  return (await run('zstd', ['--version'])).stdout.trim();
}

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

/**
 * zstd's job size for a part (its -B), or undefined for one job. zstd compresses a part in jobs,
 * one per core, and each job reloads the window before it, so matches across jobs are kept.
 * Without a job size a part is one job on one core: hook-docker's 190.6 MiB of binaries kept
 * one core busy for most of a fresh build's compression while the other idled. A part above
 * twice this size is two jobs of half the part: on two cores 43.8 s instead of 58.6 s for the
 * whole initramfs, and a smaller result (82.6 MiB instead of 82.8 MiB). The size comes from
 * the part alone, not the core count, and zstd writes the same bytes for any number of workers,
 * so the output stays the same on any machine.
 */
export const ZSTD_SPLIT_BYTES = 32 << 20;

export function zstdJobBytes(partSize: number): number | undefined {
  if (partSize <= 2 * ZSTD_SPLIT_BYTES) return undefined;
  return Math.ceil(partSize / 2 / (1 << 20)) * (1 << 20);
}

/** Compresses one segment's chunks into `output` (written in place: the caller renames it). */
async function writeCompressed(chunks: Generator<Buffer>, pool: ChunkPool, output: string, { compression, level, longWindow }: Method, streamSize: number): Promise<void> {
  const temp = output;
  try {
    if (compression === 'zstd') {
      // An external program (Node 20's zlib has no zstd) that writes the file itself, so its output does not pass through here.
      // The exact size lets zstd fit its window to the segment, so the kernel allocates no more than that to unpack it.
      const jobBytes = zstdJobBytes(streamSize);
      const args = ['-T0', ...(jobBytes ? [`-B${jobBytes}`] : []), ...((level as number) > 19 ? ['--ultra'] : []), `-${level}`, ...(longWindow ? [`--long=${longWindow}`] : []), `--stream-size=${streamSize}`, '-f', '-q', '-o', temp];
      const zstd = await spawnFilter('zstd', args);
      zstd.stdout.resume();
      // The cause first: a failed zstd breaks its stdin.
      await firstFailure([zstd.done, feed(chunks, zstd.stdin, pool)]);
    } else if (compression === 'gzip') {
      // zlib's gzip header has mtime 0 and no name, so the output is reproducible.
      const gzip = createGzip({ level });
      await firstFailure([pipeline(gzip, createWriteStream(temp, { mode: 0o644 })), feed(chunks, gzip, pool)]);
    }
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
