/**
 * The disk image writer: a GPT or MBR partition table with ONE FAT32 partition, built without
 * mounting (sfdisk on the image file, mtools at the partition's byte offset), plus raw blobs
 * before the partition (u-boot). Reproducible: the disk and partition GUIDs, the MBR id and
 * the FAT serial derive from the layout; mtools takes its dates from SOURCE_DATE_EPOCH.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { UserError } from '@hook/log';
import { hasCommand, makeTempDir, removeOnInterrupt, run } from '@hook/process';
import type { MediumPackage } from '@hook/sbom';

const SECTOR = 512;
const MIB = 1024 * 1024;
/** FAT32 needs at least 65525 clusters; with 512-byte clusters that is just over 32 MiB. */
const MIN_PARTITION_BYTES = 40 * MIB;
/** Room left free on the partition for files a user adds later (upstream left 16 MB). */
const SPARE_BYTES = 16 * MIB;
/** The backup GPT (33 sectors) at the end of the disk, rounded to a MiB. */
const GPT_TAIL_BYTES = MIB;
/** The GPT header and entries take LBA 0..33; the MBR's table sits at bytes 446..511. */
const GPT_TABLE_END = 34 * SECTOR;
const MBR_TABLE = { start: 446, end: 512 };

const EFI_SYSTEM_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const BASIC_DATA_GUID = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';

/** A file on the FAT partition: its path there ('/'-separated) and its bytes (a file or content). */
export interface FatFile {
  path: string;
  source?: string;
  content?: string | Buffer;
}

/** Bytes written at a byte offset of the disk, before the partition (a boot loader such as u-boot). */
export interface RawWrite {
  /** What it is, for messages (e.g. 'u-boot idbloader'). */
  what: string;
  offset: number;
  source?: string;
  content?: Buffer;
}

export interface DiskLayout {
  table: 'gpt' | 'mbr';
  /** Byte offset of the FAT32 partition; a multiple of 512 (a whole MiB is best). */
  partitionStart: number;
  /** GPT: EFI System partition type (else Basic Data). MBR: type 0xef (else 0x0c, FAT32 LBA). */
  esp: boolean;
  /** MBR only: the partition's active (boot) flag, which some boot ROMs and u-boots look for. */
  active?: boolean;
  /** FAT volume label: up to 11 characters, A-Z 0-9 _ -. */
  volumeLabel: string;
  files: FatFile[];
  raw: RawWrite[];
  /** What the files and raw writes come from besides HookOS (GRUB, firmware, u-boot), for the medium's SBOM. */
  packages?: MediumPackage[];
}

export interface WriteImageOptions {
  /** Seconds since 1970: every FAT date. */
  sourceDateEpoch: number;
  env?: NodeJS.ProcessEnv;
}

export interface WrittenImage {
  output: string;
  bytes: number;
  partitionStart: number;
  partitionBytes: number;
  diskId: string;
}

interface SizedFile extends FatFile {
  bytes: number;
}

/** Checks a layout a handler made; a wrong one is a bug in the handler, not a user mistake. */
export function validateLayout(layout: DiskLayout): void {
  const fail = (why: string) => {
    throw new Error(`disk layout: ${why}`);
  };
  if (layout.partitionStart % SECTOR !== 0) fail(`partition start ${layout.partitionStart} is not a multiple of ${SECTOR}`);
  const tableEnd = layout.table === 'gpt' ? GPT_TABLE_END : SECTOR;
  if (layout.partitionStart < tableEnd) fail(`partition start ${layout.partitionStart} is inside the ${layout.table} partition table`);
  if (!/^[A-Z0-9_-]{1,11}$/.test(layout.volumeLabel)) fail(`volume label '${layout.volumeLabel}' must be 1-11 characters A-Z 0-9 _ -`);
  const seen = new Set<string>();
  for (const file of layout.files) {
    const path = file.path;
    if (!/^[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/.test(path) || path.split('/').some((part) => part === '.' || part === '..')) fail(`bad file path '${path}'`);
    const key = path.toLowerCase(); // FAT names are case-insensitive
    if (seen.has(key)) fail(`file '${path}' is listed twice`);
    seen.add(key);
    if ((file.source === undefined) === (file.content === undefined)) fail(`file '${path}' needs exactly one of source and content`);
  }
  for (const blob of layout.raw) {
    if ((blob.source === undefined) === (blob.content === undefined)) fail(`raw write '${blob.what}' needs exactly one of source and content`);
    if (!Number.isInteger(blob.offset) || blob.offset < 0) fail(`raw write '${blob.what}' has a bad offset ${blob.offset}`);
  }
}

async function rawBytes(blob: RawWrite): Promise<Buffer> {
  return blob.content ?? (await readFile(blob.source as string));
}

/** Raw writes must end before the partition and keep clear of the partition table. */
async function checkRawWrites(layout: DiskLayout): Promise<Array<{ blob: RawWrite; data: Buffer }>> {
  const protectedRange = layout.table === 'gpt' ? { start: MBR_TABLE.start, end: GPT_TABLE_END } : MBR_TABLE;
  const blobs = [];
  for (const blob of layout.raw) {
    const data = await rawBytes(blob);
    const end = blob.offset + data.length;
    if (end > layout.partitionStart) {
      throw new Error(`disk layout: raw write '${blob.what}' (${data.length} bytes at ${blob.offset}) runs into the partition at ${layout.partitionStart}`);
    }
    if (blob.offset < protectedRange.end && end > protectedRange.start) {
      throw new Error(`disk layout: raw write '${blob.what}' (${data.length} bytes at ${blob.offset}) overlaps the ${layout.table} partition table (bytes ${protectedRange.start}..${protectedRange.end - 1})`);
    }
    blobs.push({ blob, data });
  }
  return blobs;
}

async function sizeFiles(files: FatFile[]): Promise<SizedFile[]> {
  const sized: SizedFile[] = [];
  for (const file of files) {
    if (file.source !== undefined) {
      const info = await stat(file.source).catch(() => undefined);
      if (!info?.isFile()) throw new UserError(`${file.source} not found (needed on the disk image as ${file.path})`);
      sized.push({ ...file, bytes: info.size });
    } else {
      sized.push({ ...file, bytes: Buffer.byteLength(file.content as string | Buffer) });
    }
  }
  return sized.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A digest of everything the image is made of: the seed of its GUIDs, disk id and FAT serial. */
async function layoutDigest(layout: DiskLayout, files: SizedFile[], blobs: Array<{ blob: RawWrite; data: Buffer }>): Promise<Buffer> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ table: layout.table, start: layout.partitionStart, esp: layout.esp, active: !!layout.active, label: layout.volumeLabel }));
  for (const file of files) {
    const digest = file.source !== undefined ? await sha256OfFile(file.source) : createHash('sha256').update(file.content as string | Buffer).digest('hex');
    hash.update(`\nfile ${file.path} ${file.bytes} ${digest}`);
  }
  for (const { blob, data } of blobs) hash.update(`\nraw ${blob.offset} ${createHash('sha256').update(data).digest('hex')}`);
  return hash.digest();
}

/** An RFC 4122 version 4 layout GUID from 16 bytes of a digest (random-looking, but fixed). */
export function guidFrom(bytes: Buffer): string {
  const b = Buffer.from(bytes.subarray(0, 16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = b.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The sfdisk script of the layout (sectors of 512 bytes). */
export function sfdiskScript(layout: DiskLayout, partitionBytes: number, digest: Buffer): string {
  const start = layout.partitionStart / SECTOR;
  const size = partitionBytes / SECTOR;
  if (layout.table === 'gpt') {
    return [
      'label: gpt',
      `label-id: ${guidFrom(digest.subarray(0, 16))}`,
      'unit: sectors',
      // Let the partition start where the layout says, even below sfdisk's 1 MiB default.
      `first-lba: ${Math.min(start, 2048)}`,
      `start=${start}, size=${size}, type=${layout.esp ? EFI_SYSTEM_GUID : BASIC_DATA_GUID}, uuid=${guidFrom(digest.subarray(16, 32))}, name="${layout.volumeLabel}"`,
      '',
    ].join('\n');
  }
  const id = digest.readUInt32BE(0) || 1;
  return ['label: dos', `label-id: 0x${id.toString(16).padStart(8, '0')}`, 'unit: sectors', `start=${start}, size=${size}, type=${layout.esp ? 'ef' : 'c'}${layout.active ? ', bootable' : ''}`, ''].join('\n');
}

/** The partition's size: the files, FAT's own tables and some spare, in whole MiB. */
export function partitionBytesFor(files: { path: string; bytes: number }[]): number {
  const dirs = new Set(files.flatMap((f) => ancestors(f.path)));
  // 4 KiB per file and directory covers any cluster size mformat picks for these sizes; the
  // FATs take about 4 bytes per 512-byte cluster (under 1%).
  const data = files.reduce((sum, f) => sum + Math.ceil(f.bytes / 4096) * 4096, 0) + dirs.size * 4096;
  const bytes = Math.ceil((data * 1.02 + SPARE_BYTES) / MIB) * MIB;
  return Math.max(bytes, MIN_PARTITION_BYTES);
}

function ancestors(path: string): string[] {
  const parts = path.split('/').slice(0, -1);
  return parts.map((_, index) => parts.slice(0, index + 1).join('/'));
}

async function checkTools(): Promise<void> {
  for (const [command, debianPackage] of [
    ['sfdisk', 'fdisk'],
    ['mformat', 'mtools'],
    ['mmd', 'mtools'],
    ['mcopy', 'mtools'],
  ]) {
    if (!(await hasCommand(command))) throw new UserError(`'${command}' is needed to write a disk image; install it (Debian: apt-get install ${debianPackage})`);
  }
}

/**
 * Writes the disk image `output`: written under a temp name beside it and renamed, so a
 * stopped or failed run leaves no half-written image. Same layout and epoch: same bytes.
 */
export async function writeDiskImage(layout: DiskLayout, output: string, options: WriteImageOptions): Promise<WrittenImage> {
  validateLayout(layout);
  if (!Number.isInteger(options.sourceDateEpoch) || options.sourceDateEpoch < 0) {
    throw new UserError(`SOURCE_DATE_EPOCH must be a whole number of seconds, got ${options.sourceDateEpoch}`);
  }
  await checkTools();
  const files = await sizeFiles(layout.files);
  const blobs = await checkRawWrites(layout);
  const digest = await layoutDigest(layout, files, blobs);
  const partitionBytes = partitionBytesFor(files);
  const totalBytes = layout.partitionStart + partitionBytes + (layout.table === 'gpt' ? GPT_TAIL_BYTES : 0);

  await mkdir(dirname(output), { recursive: true });
  const partial = join(dirname(output), `.tmp-${process.pid}-${basename(output)}`);
  const forget = removeOnInterrupt(partial);
  const work = await makeTempDir('bootable', options.env);
  const env = { ...options.env, SOURCE_DATE_EPOCH: String(options.sourceDateEpoch), MTOOLS_SKIP_CHECK: '1' };
  try {
    await rm(partial, { force: true });
    const handle = await open(partial, 'w');
    try {
      await handle.truncate(totalBytes); // sparse: the zeros cost nothing
    } finally {
      await handle.close();
    }
    await run('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', '--wipe', 'never', partial], { input: sfdiskScript(layout, partitionBytes, digest), env });

    const fat = `${partial}@@${layout.partitionStart}`;
    const serial = digest.subarray(16, 20).toString('hex');
    await run(
      'mformat',
      ['-i', fat, '-F', '-T', String(partitionBytes / SECTOR), '-H', String(layout.partitionStart / SECTOR), '-h', '64', '-s', '32', '-N', serial, '-v', layout.volumeLabel, '::'],
      { env },
    );
    await copyFiles(fat, files, work, env);

    if (blobs.length > 0) {
      const disk = await open(partial, 'r+');
      try {
        for (const { data, blob } of blobs) await disk.write(data, 0, data.length, blob.offset);
      } finally {
        await disk.close();
      }
    }
    await rename(partial, output);
    return { output, bytes: totalBytes, partitionStart: layout.partitionStart, partitionBytes, diskId: layout.table === 'gpt' ? guidFrom(digest) : digest.readUInt32BE(0).toString(16) };
  } finally {
    forget();
    await rm(partial, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Directories first (parents before children), then the files of each directory in one mcopy,
 * in sorted order, so the FAT's directory entries and clusters come out the same every time.
 * The sources are symlinked under their names on the partition (mcopy names a copy after its source).
 */
async function copyFiles(fat: string, files: SizedFile[], work: string, env: NodeJS.ProcessEnv): Promise<void> {
  const dirs = [...new Set(files.flatMap((f) => ancestors(f.path)))].sort();
  if (dirs.length > 0) await run('mmd', ['-i', fat, ...dirs.map((d) => `::/${d}`)], { env });
  const byDir = new Map<string, SizedFile[]>();
  for (const file of files) {
    const dir = posix.dirname(file.path);
    byDir.set(dir, [...(byDir.get(dir) ?? []), file]);
  }
  let index = 0;
  for (const dir of [...byDir.keys()].sort()) {
    const stage = join(work, `dir-${index++}`);
    await mkdir(stage);
    const sources: string[] = [];
    for (const file of byDir.get(dir) as SizedFile[]) {
      const staged = join(stage, posix.basename(file.path));
      if (file.source !== undefined) await symlink(file.source, staged);
      else await writeFile(staged, file.content as string | Buffer);
      sources.push(staged);
    }
    // Chunks keep the argument list short (a device-tree folder holds hundreds of files).
    for (let i = 0; i < sources.length; i += 200) {
      await run('mcopy', ['-i', fat, '-D', 'o', ...sources.slice(i, i + 200), dir === '.' ? '::/' : `::/${dir}/`], { env });
    }
  }
}
