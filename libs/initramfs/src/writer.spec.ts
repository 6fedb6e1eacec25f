/**
 * Integration: real zstd, gzip and GNU cpio. Debian packages: cpio, zstd.
 * Every image is unpacked with the system `cpio -idmu --no-absolute-filenames` (as root, so
 * owners are kept) and the resulting tree is compared with what the entries describe.
 */
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { UserError } from '@hook/log';
import { run } from '@hook/process';
import { decodeHeader } from './cpio';
import type { FsEntry } from './entry';
import { LINUXKIT_EPOCH } from '@hook/settings';
import { writeInitramfs, zstdJobBytes } from './writer';

// Real compressors on a shared 2-core machine: seconds, not milliseconds.
jest.setTimeout(60_000);

const isRoot = process.getuid?.() === 0;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'initramfs-spec-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function e(path: string, type: FsEntry['type'], extra: Partial<FsEntry> = {}): FsEntry {
  return { path, type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 1700000000, ...extra };
}
function file(path: string, text: string | Buffer, extra: Partial<FsEntry> = {}): FsEntry {
  const data = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return e(path, 'file', { size: data.length, content: () => Readable.from([data.subarray(0, 3), data.subarray(3)]), ...extra });
}

const longComponent = 'l'.repeat(200);
const longPath = `opt/${'x'.repeat(60)}/${'y'.repeat(60)}/${longComponent}/file`; // > 255 bytes in all
const deepPath = `${Array.from({ length: 40 }, (_, i) => `d${i}`).join('/')}/leaf`;
const bigBlob = Buffer.alloc(3 << 20, 'ab'); // 3 MiB, spans several 1 MiB archive chunks

/** A tree with the cases a LinuxKit stream produces, in tar order with repeated paths. */
function sampleEntries(): FsEntry[] {
  return [
    e('etc', 'directory'),
    file('etc/hosts', 'first version\n'),
    file('etc/hosts', '127.0.0.1 localhost\n'), // same path again: the last one wins
    file('var/run', 'a file that a later directory replaces'),
    e('var/run', 'directory', { mode: 0o755 }),
    file('srv/old/child', 'goes away with its directory'),
    file('srv/old', 'a file replaces the directory'),
    e('usr/lib', 'directory'),
    e('lib', 'symlink', { linkTarget: 'usr/lib' }),
    file('lib/modules/6.12/virtio.ko', 'module'), // through the merged-/usr symlink
    e('lib', 'directory'), // keeps the lib -> usr/lib symlink
    e('dev', 'directory'),
    e('dev/console', 'char', { mode: 0o600, devMajor: 5, devMinor: 1 }),
    e('dev/sda', 'block', { mode: 0o660, gid: 6, devMajor: 8, devMinor: 0 }),
    e('run/initctl', 'fifo', { mode: 0o600 }),
    file('usr/bin/sudo', 'setuid binary', { mode: 0o4755 }),
    e('var/mail', 'directory', { mode: 0o2775, gid: 8 }),
    e('tmp', 'directory', { mode: 0o1777 }),
    file('home/user/.profile', 'owned by a user', { uid: 1000, gid: 1000, mode: 0o640 }),
    e('bin', 'symlink', { linkTarget: 'usr/bin' }),
    e('etc/mtab', 'symlink', { linkTarget: '/proc/mounts' }),
    file('usr/bin/busybox', 'busybox binary', { mode: 0o755 }),
    e('usr/bin/sh', 'hardlink', { linkTarget: 'usr/bin/busybox' }),
    e('usr/bin/ls', 'hardlink', { linkTarget: '/usr/bin/busybox' }),
    file('images/a/runc', bigBlob, { mode: 0o755 }),
    file('images/b/runc', bigBlob, { mode: 0o755 }), // identical: becomes a hard link
    file('images/c/runc', bigBlob, { mode: 0o700 }), // identical content, other mode: its own copy
    file('images/a/empty', ''),
    file('images/b/empty', ''), // empty files are never linked
    file(longPath, 'long name'),
    file(deepPath, 'deep'),
  ];
}

interface Seen {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  ino: number;
  nlink: number;
  mtime: number;
  content?: string;
  target?: string;
  rdev?: [number, number];
}

/** Every path below `root` with what a user could observe of it. */
async function snapshot(root: string): Promise<Map<string, Seen>> {
  const seen = new Map<string, Seen>();
  const walk = async (dir: string, prefix: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const full = join(dir, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      const st = await lstat(full);
      const item: Seen = { type: '', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, ino: st.ino, nlink: st.nlink, mtime: Math.floor(st.mtimeMs / 1000) };
      if (st.isDirectory()) item.type = 'directory';
      else if (st.isSymbolicLink()) Object.assign(item, { type: 'symlink', target: await readlink(full) });
      else if (st.isFile()) Object.assign(item, { type: 'file', content: sha(await readFile(full)) });
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        Object.assign(item, { type: st.isCharacterDevice() ? 'char' : 'block', rdev: [Math.floor(st.rdev / 256) & 0xfff, (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)] });
      } else if (st.isFIFO()) item.type = 'fifo';
      seen.set(rel, item);
      if (st.isDirectory()) await walk(full, rel);
    }
  };
  await walk(root, '');
  return seen;
}

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function unpack(image: string, compression: 'zstd' | 'gzip' | 'none'): Promise<string> {
  const dir = await mkdtemp(join(work, 'unpacked-'));
  const decompress = { zstd: 'zstd -dc', gzip: 'gzip -dc', none: 'cat' }[compression];
  await run('sh', ['-c', `${decompress} "$1" | cpio -idmu --no-absolute-filenames --quiet`, 'sh', image], { cwd: dir });
  return dir;
}

describe('writeInitramfs (integration: zstd, gzip, GNU cpio)', () => {
  let result: Awaited<ReturnType<typeof writeInitramfs>>;
  let tree: Map<string, Seen>;
  const output = () => join(work, 'sample', 'initramfs.zst');

  beforeAll(async () => {
    result = await writeInitramfs(sampleEntries(), { output: output(), env: {} });
    tree = await snapshot(await unpack(output(), 'zstd'));
  });

  it('unpacks to the tree the entries describe, the last entry for a path winning', () => {
    const expectFile = (path: string, text: string | Buffer, mode = 0o644, uid = 0, gid = 0) =>
      expect(tree.get(path)).toMatchObject({ type: 'file', content: sha(text), mode, uid, gid });
    expectFile('etc/hosts', '127.0.0.1 localhost\n');
    expect(tree.get('var/run')).toMatchObject({ type: 'directory', mode: 0o755 });
    expectFile('srv/old', 'a file replaces the directory');
    expect(tree.has('srv/old/child')).toBe(false);
    expect(tree.get('lib')).toMatchObject({ type: 'symlink', target: 'usr/lib' });
    expectFile('usr/lib/modules/6.12/virtio.ko', 'module');
    expect(tree.get('bin')).toMatchObject({ type: 'symlink', target: 'usr/bin' });
    expect(tree.get('etc/mtab')).toMatchObject({ type: 'symlink', target: '/proc/mounts' });
    expectFile(longPath, 'long name');
    expectFile(deepPath, 'deep');
    expectFile('images/a/empty', '');
  });

  it('creates /dev/console as the character device 5,1 and keeps other special files', () => {
    expect(tree.get('dev/console')).toMatchObject({ type: 'char', rdev: [5, 1], mode: 0o600 });
    expect(tree.get('dev/sda')).toMatchObject({ type: 'block', rdev: [8, 0], mode: 0o660, gid: 6 });
    expect(tree.get('run/initctl')).toMatchObject({ type: 'fifo', mode: 0o600 });
  });

  it('keeps setuid, setgid and sticky bits and owners', () => {
    expect(isRoot).toBe(true); // owners are only restored when cpio runs as root
    expect(tree.get('usr/bin/sudo')).toMatchObject({ mode: 0o4755 });
    expect(tree.get('var/mail')).toMatchObject({ type: 'directory', mode: 0o2775, gid: 8 });
    expect(tree.get('tmp')).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(tree.get('home/user/.profile')).toMatchObject({ uid: 1000, gid: 1000, mode: 0o640 });
  });

  it('creates missing parents as root-owned 0755 directories', () => {
    for (const dir of ['home', 'home/user', 'opt', 'd0/d1/d2', 'images']) {
      expect(tree.get(dir)).toMatchObject({ type: 'directory', mode: 0o755, uid: 0, gid: 0 });
    }
  });

  it('stores input hard links and identical files once, sharing one inode', () => {
    const busybox = tree.get('usr/bin/busybox')!;
    expect(tree.get('usr/bin/sh')).toMatchObject({ ino: busybox.ino, content: sha('busybox binary'), nlink: 3 });
    expect(tree.get('usr/bin/ls')!.ino).toBe(busybox.ino);
    const runcA = tree.get('images/a/runc')!;
    expect(runcA).toMatchObject({ content: sha(bigBlob), nlink: 2, mode: 0o755 });
    expect(tree.get('images/b/runc')).toMatchObject({ ino: runcA.ino, content: sha(bigBlob) });
    expect(tree.get('images/c/runc')).toMatchObject({ content: sha(bigBlob), mode: 0o700, nlink: 1 });
    expect(tree.get('images/c/runc')!.ino).not.toBe(runcA.ino);
    expect(tree.get('images/a/empty')!.ino).not.toBe(tree.get('images/b/empty')!.ino);
    expect(result.dedupe).toEqual({ enabled: true, groups: 2, linkedByContent: 1, savedBytes: bigBlob.length });
  });

  it('sets every mtime to the epoch', () => {
    expect(result.sourceDateEpoch).toBe(LINUXKIT_EPOCH);
    for (const path of ['etc/hosts', 'dev/console', 'images/b/runc']) expect(tree.get(path)!.mtime).toBe(LINUXKIT_EPOCH);
  });

  it('reports sizes, counts and the sha256 of the file it wrote', async () => {
    const written = await readFile(output());
    expect(result.sha256).toBe(sha(written));
    expect(result.compressedSize).toBe(written.length);
    const cpio = await run('sh', ['-c', 'zstd -dc "$1" | wc -c', 'sh', output()]);
    expect(result.uncompressedSize).toBe(Number(cpio.stdout.trim()));
    expect(result.uncompressedSize % 512).toBe(0);
    expect(result.compressedSize).toBeLessThan(result.uncompressedSize / 10); // three copies of a repetitive 3 MiB blob
    expect(result.entries).toMatchObject({ input: sampleEntries().length, files: 15, symlinks: 3, devices: 2, fifos: 1, hardlinks: 3, replaced: 3 });
    expect(result.entries.archived).toBe(tree.size);
  });

  it('writes byte-identical output for the same input, whatever the order of distinct paths', async () => {
    const again = await writeInitramfs(sampleEntries(), { output: join(work, 'again.zst'), env: {} });
    expect(again.sha256).toBe(result.sha256);
    const reversed = sampleEntries().filter((x) => !['etc/hosts', 'var/run', 'srv/old', 'lib', 'usr/bin/sh', 'usr/bin/ls'].some((p) => x.path.startsWith(p)));
    const a = await writeInitramfs(reversed, { output: join(work, 'fwd.zst'), env: {} });
    const b = await writeInitramfs([...reversed].reverse(), { output: join(work, 'rev.zst'), env: {} });
    expect(b.sha256).toBe(a.sha256);
  });

  it('takes the mtime from SOURCE_DATE_EPOCH', async () => {
    const image = join(work, 'epoch.zst');
    const r = await writeInitramfs([file('etc/issue', 'hi')], { output: image, env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.sourceDateEpoch).toBe(1700000000);
    const unpacked = await snapshot(await unpack(image, 'zstd'));
    expect(unpacked.get('etc/issue')!.mtime).toBe(1700000000);
    await expect(writeInitramfs([], { output: image, env: { SOURCE_DATE_EPOCH: 'yesterday' } })).rejects.toThrow(UserError);
  });

  it('writes gzip with a fixed header that cpio unpacks', async () => {
    const image = join(work, 'sample.gz');
    const r = await writeInitramfs(sampleEntries(), { output: image, compression: 'gzip', env: {} });
    const head = (await readFile(image)).subarray(0, 10);
    expect(head.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 8]));
    expect(head.readUInt32LE(4)).toBe(0); // no timestamp
    const unpacked = await snapshot(await unpack(image, 'gzip'));
    expect([...unpacked.keys()]).toEqual([...tree.keys()]);
    expect(unpacked.get('images/b/runc')!.content).toBe(sha(bigBlob));
    const again = await writeInitramfs(sampleEntries(), { output: join(work, 'again.gz'), compression: 'gzip', env: {} });
    expect(again.sha256).toBe(r.sha256);
  });

  it('without de-duplication stores identical files separately but keeps input hard links', async () => {
    const image = join(work, 'nodedupe.cpio');
    const r = await writeInitramfs(sampleEntries(), { output: image, compression: 'none', dedupe: false, env: {} });
    expect(r.uncompressedSize).toBeGreaterThan(result.uncompressedSize + bigBlob.length - 1);
    const unpacked = await snapshot(await unpack(image, 'none'));
    expect(unpacked.get('images/b/runc')!.ino).not.toBe(unpacked.get('images/a/runc')!.ino);
    expect(unpacked.get('usr/bin/sh')!.ino).toBe(unpacked.get('usr/bin/busybox')!.ino);
    expect(r.dedupe.savedBytes).toBe(0);
  });
});

describe('archive layout (integration)', () => {
  it('follows the GNU cpio hard-link convention the kernel expects: one inode, data on the last name only', async () => {
    const image = join(work, 'layout.cpio');
    await writeInitramfs([file('b/two', 'shared'), file('a/one', 'shared'), file('c/three', 'shared'), file('d/other', 'x')], { output: image, compression: 'none', env: {} });
    const archive = await readFile(image);
    const records: ReturnType<typeof decodeHeader>[] = [];
    for (let offset = 0; ; ) {
      const header = decodeHeader(archive, offset);
      records.push(header);
      if (header.name === 'TRAILER!!!') break;
      offset = header.dataOffset + header.filesize + ((4 - (header.filesize % 4)) % 4);
    }
    expect(records.map((r) => r.name)).toEqual(['a', 'a/one', 'b', 'b/two', 'c', 'c/three', 'd', 'd/other', 'TRAILER!!!']);
    const linked = records.filter((r) => ['a/one', 'b/two', 'c/three'].includes(r.name));
    expect(new Set(linked.map((r) => r.ino)).size).toBe(1);
    expect(linked.map((r) => [r.nlink, r.filesize])).toEqual([
      [3, 0],
      [3, 0],
      [3, 6],
    ]);
    const inodes = records.filter((r) => r.name !== 'TRAILER!!!').map((r) => r.ino);
    expect(new Set(inodes).size).toBe(inodes.length - 2);
    expect(records.filter((r) => r.name.length === 1).every((r) => r.nlink === 2 && (r.mode & 0o170000) === 0o040000)).toBe(true);
    expect(records.every((r) => r.devMajor === 0 && r.devMinor === 0)).toBe(true);
    expect(archive.length % 512).toBe(0);
  });
});

describe('failures leave no output (integration)', () => {
  it('a failing compressor leaves no output file and keeps the previous one', async () => {
    const dir = join(work, 'failing');
    const fakeBin = join(dir, 'bin');
    await mkdir(fakeBin, { recursive: true });
    await writeFile(join(fakeBin, 'zstd'), '#!/bin/sh\nhead -c 1000 >/dev/null\necho "zstd: out of memory" >&2\nexit 1\n');
    await chmod(join(fakeBin, 'zstd'), 0o755);
    const image = join(dir, 'initramfs.zst');
    await writeFile(image, 'previous build');
    const path = process.env.PATH;
    process.env.PATH = `${fakeBin}:${path}`;
    try {
      await expect(writeInitramfs([file('big', bigBlob)], { output: image, env: {} })).rejects.toThrow('zstd exited with code 1: zstd: out of memory');
    } finally {
      process.env.PATH = path;
    }
    expect(await readFile(image, 'utf8')).toBe('previous build');
    expect((await readdir(dir)).sort()).toEqual(['bin', 'initramfs.zst']);
  });

  it('a missing zstd is a user error naming the package, with no output', async () => {
    const emptyBin = await mkdtemp(join(work, 'nobin-'));
    const image = join(work, 'nozstd', 'initramfs.zst');
    const path = process.env.PATH;
    process.env.PATH = emptyBin;
    try {
      await expect(writeInitramfs([file('big', bigBlob)], { output: image, env: {} })).rejects.toThrow(
        new UserError(`'zstd' is not installed or not on PATH; install it (Debian: apt-get install zstd)`),
      );
    } finally {
      process.env.PATH = path;
    }
    expect(await readdir(join(work, 'nozstd'))).toEqual([]);
  });

  it('a broken entry stream fails with the entry named and writes nothing', async () => {
    const image = join(work, 'broken.zst');
    await expect(writeInitramfs([e('usr/bin/sh', 'hardlink', { linkTarget: 'bin/busybox' })], { output: image, env: {} })).rejects.toThrow(
      new UserError(`initramfs entry 'usr/bin/sh' is a hard link to 'bin/busybox', which does not exist earlier in the image; fix the image or its layer order`),
    );
    await expect(writeInitramfs([file('etc/motd', 'hello', { size: 10 })], { output: image, env: {} })).rejects.toThrow(/its content has 5 bytes but the entry says 10/);
    async function* failing(): AsyncIterable<FsEntry> {
      yield file('etc/motd', 'hello');
      throw new Error('registry connection reset');
    }
    await expect(writeInitramfs(failing(), { output: image, env: {} })).rejects.toThrow('registry connection reset');
    await expect(lstat(image)).rejects.toThrow(/ENOENT/);
  });

  it('writes zstd --ultra levels and a long-distance window that zstd -d reads back', async () => {
    const image = join(work, 'long.zst');
    const result = await writeInitramfs([file('etc/motd', 'hello')], { output: image, level: 20, longWindow: 27, env: {} });
    expect(result).toMatchObject({ level: 20, longWindow: 27 });
    // The frame knows its size, so the window it asks the decompressor (the kernel) to allocate
    // fits the content instead of the whole 128 MiB.
    const frame = (await run('zstd', ['-lv', image])).stdout;
    const window = Number(/Window Size: .*\((\d+) B\)/.exec(frame)![1]);
    const content = Number(/Decompressed Size: .*\((\d+) B\)/.exec(frame)![1]);
    expect(window).toBeLessThanOrEqual(Math.max(1024, 2 ** Math.ceil(Math.log2(content))));
    expect((await run('sh', ['-c', 'zstd -dc "$1" | cpio -it --quiet', 'sh', image])).stdout).toContain('etc/motd');
  });

  it('rejects an unknown compression or a level zstd or gzip does not have', async () => {
    await expect(writeInitramfs([], { output: join(work, 'x.zst'), level: 23 })).rejects.toThrow('initramfs zstd level 23 is out of range; use 1..22');
    await expect(writeInitramfs([], { output: join(work, 'x.zst'), longWindow: 28 })).rejects.toThrow('initramfs zstd long window 28 is out of range; use 10..27');
    await expect(writeInitramfs([], { output: join(work, 'x.gz'), compression: 'gzip', longWindow: 27 })).rejects.toThrow('needs zstd compression, not gzip');
    await expect(writeInitramfs([], { output: join(work, 'x.gz'), compression: 'gzip', level: 0 })).rejects.toThrow(UserError);
    await expect(writeInitramfs([], { output: join(work, 'x.xz'), compression: 'xz' as 'zstd' })).rejects.toThrow("unknown initramfs compression 'xz'; use zstd, gzip or none");
  });

  it('cleans up its spool directory', async () => {
    const spoolDir = await mkdtemp(join(work, 'spool-'));
    await writeInitramfs(sampleEntries(), { output: join(work, 'spool.zst'), spoolDir, env: {} });
    await expect(writeInitramfs([file('a', 'b', { size: 9 })], { output: join(work, 'spool2.zst'), spoolDir, env: {} })).rejects.toThrow(UserError);
    expect(await readdir(spoolDir)).toEqual([]);
  });
});

describe('entries whose content is a build-host file (sourcePath: read again, not spooled)', () => {
  /** The sample entries with every file's content written under `dir`; `every` picks which ones get a sourcePath. */
  async function sourcedEntries(dir: string, every: (index: number) => boolean): Promise<FsEntry[]> {
    await mkdir(dir, { recursive: true });
    const out: FsEntry[] = [];
    for (const [index, entry] of sampleEntries().entries()) {
      if (entry.type !== 'file' || !every(index)) {
        out.push(entry);
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry.content!() as Readable) chunks.push(chunk as Buffer);
      const sourcePath = join(dir, `f${index}`);
      await writeFile(sourcePath, Buffer.concat(chunks));
      out.push({ ...entry, content: () => Readable.from([Buffer.from('not read: sourcePath wins')]), sourcePath });
    }
    return out;
  }

  /**
   * The unpacked tree with each inode number replaced by the first name that has it. The mtimes
   * of symlinks and directories are those of the unpacking (cpio cannot set them), so two unpacks
   * a second apart differ there: left out (the archives' sha256 are compared as well).
   */
  async function unpackedTree(image: string): Promise<[string, Seen][]> {
    const firstName = new Map<number, string>();
    return [...(await snapshot(await unpack(image, 'zstd')))].map(([path, seen]) => {
      if (!firstName.has(seen.ino)) firstName.set(seen.ino, path);
      const unpackTime = seen.type === 'symlink' || seen.type === 'directory';
      return [path, { ...seen, ino: firstName.get(seen.ino) as unknown as number, ...(unpackTime ? { mtime: 0 } : {}) }];
    });
  }

  it('writes the same bytes as the spooled path, all sourced or mixed, and unpacks to the same tree', async () => {
    const spooled = await writeInitramfs(sampleEntries(), { output: join(work, 'src-spooled.zst'), env: {} });
    const all = await writeInitramfs(await sourcedEntries(join(work, 'src-all'), () => true), { output: join(work, 'src-all.zst'), env: {} });
    const again = await writeInitramfs(await sourcedEntries(join(work, 'src-again'), () => true), { output: join(work, 'src-again.zst'), env: {} });
    const mixed = await writeInitramfs(await sourcedEntries(join(work, 'src-mixed'), (i) => i % 2 === 0), { output: join(work, 'src-mixed.zst'), env: {} });
    expect(again.sha256).toBe(all.sha256);
    expect(all.sha256).toBe(spooled.sha256);
    expect(mixed.sha256).toBe(spooled.sha256);
    expect(all.dedupe).toEqual(spooled.dedupe);
    expect(mixed.dedupe).toEqual(spooled.dedupe);
    const expected = await unpackedTree(join(work, 'src-spooled.zst'));
    expect(await unpackedTree(join(work, 'src-all.zst'))).toEqual(expected);
    expect(await unpackedTree(join(work, 'src-mixed.zst'))).toEqual(expected);
    expect(new Map(expected).get('images/b/runc')!.content).toBe(sha(bigBlob));
  });

  it('a source file that changed size between reading and writing fails clearly and leaves no output', async () => {
    const dir = join(work, 'src-changed');
    const source = join(dir, 'data');
    const outDir = join(dir, 'out');
    await mkdir(outDir, { recursive: true });
    await writeFile(source, bigBlob);
    async function* entries(): AsyncIterable<FsEntry> {
      yield e('usr/bin/tool', 'file', { size: bigBlob.length, sourcePath: source });
      yield file('etc/motd', 'hello');
      await writeFile(source, 'truncated by someone else'); // after the first pass read it
    }
    const image = join(outDir, 'initramfs.zst');
    await expect(writeInitramfs(entries(), { output: image, env: {} })).rejects.toThrow(
      new UserError(
        `initramfs entry 'usr/bin/tool': its source file ${source} changed while the initramfs was written (${bigBlob.length} bytes expected, 25 bytes now); nothing was written, run the build again with the source left alone`,
      ),
    );
    expect(await readdir(outDir)).toEqual([]);
    await expect(writeInitramfs([e('x', 'file', { sourcePath: join(dir, 'missing') })], { output: image, env: {} })).rejects.toThrow(
      /initramfs entry 'x': cannot read its source file .*missing: ENOENT/,
    );
    expect(await readdir(outDir)).toEqual([]);
  });
});

describe('segments: one compressed part per origin, kept by content (integration)', () => {
  const libc = Buffer.alloc(200 << 10, 'libc'); // the same file in three images
  /** Three images the way the assembler marks them: init (root), then two containers. */
  function images(acpidScript = '#!/bin/sh\necho acpid\n'): FsEntry[] {
    return [
      e('etc', 'directory', { origin: 'hook-init' }),
      file('etc/init.d/rcS', '#!/bin/sh\n', { origin: 'hook-init', mode: 0o755 }),
      file('usr/lib/libc.so.6', libc, { origin: 'hook-init', mode: 0o755 }),
      file('containers/onboot/000-acpid/rootfs/usr/lib/libc.so.6', libc, { origin: 'hook-acpid', mode: 0o755 }),
      file('containers/onboot/000-acpid/rootfs/run.sh', acpidScript, { origin: 'hook-acpid', mode: 0o755 }),
      file('containers/services/docker/rootfs/usr/lib/libc.so.6', libc, { origin: 'hook-docker', mode: 0o755 }),
      file('containers/services/docker/rootfs/usr/bin/dockerd', bigBlob, { origin: 'hook-docker', mode: 0o755 }),
      file('etc/init.d/rcS', '#!/bin/sh\necho replaced by a later image\n', { origin: 'hook-docker', mode: 0o755 }),
    ];
  }
  const frames = async (image: string) => Number(/# Zstandard Frames: (\d+)/.exec((await run('zstd', ['-lv', image])).stdout)![1]);

  it('writes one zstd frame per image (and one for its files of 1 MiB or more); GNU cpio unpacks the whole tree, the shared file one inode across segments', async () => {
    const image = join(work, 'segments', 'initramfs.zst');
    const result = await writeInitramfs(images(), { output: image, env: {} });
    // hook-init, hook-acpid, hook-docker, hook-docker's large files (dockerd) and the trailer.
    expect(result.segments).toMatchObject({ count: 5, reused: 0 });
    expect(await frames(image)).toBe(5);
    const unpacked = await snapshot(await unpack(image, 'zstd'));
    const names = ['usr/lib/libc.so.6', 'containers/onboot/000-acpid/rootfs/usr/lib/libc.so.6', 'containers/services/docker/rootfs/usr/lib/libc.so.6'];
    for (const name of names) expect(unpacked.get(name)).toMatchObject({ type: 'file', content: sha(libc), mode: 0o755, nlink: 3, ino: unpacked.get(names[0])!.ino });
    expect(unpacked.get('etc/init.d/rcS')).toMatchObject({ content: sha('#!/bin/sh\necho replaced by a later image\n') });
    expect(unpacked.get('containers/services/docker/rootfs/usr/bin/dockerd')).toMatchObject({ content: sha(bigBlob) });
    // The decompressed parts are one archive: a single trailer, at the end.
    await run('zstd', ['-dqf', image, '-o', `${image}.cpio`]);
    const archive = await readFile(`${image}.cpio`);
    expect(archive.toString('latin1').split('TRAILER!!!').length - 1).toBe(1);
  });

  it('takes unchanged segments from the cache: the same bytes as without it, only the changed image compressed again', async () => {
    const cache = join(work, 'segment-cache');
    const plain = await writeInitramfs(images('#!/bin/sh\necho changed\n'), { output: join(work, 'segments', 'plain.zst'), env: {} });
    const first = await writeInitramfs(images(), { output: join(work, 'segments', 'first.zst'), env: {}, segmentCache: cache });
    expect(first.segments.reused).toBe(0);
    const changed = await writeInitramfs(images('#!/bin/sh\necho changed\n'), { output: join(work, 'segments', 'changed.zst'), env: {}, segmentCache: cache });
    expect(changed.segments).toMatchObject({ count: 5, reused: 4 });
    expect(changed.segments.compressedBytes).toBeLessThan(libc.length + 4096);
    expect(changed.sha256).toBe(plain.sha256);
    const unpacked = await snapshot(await unpack(join(work, 'segments', 'changed.zst'), 'zstd'));
    expect(unpacked.get('containers/onboot/000-acpid/rootfs/run.sh')).toMatchObject({ content: sha('#!/bin/sh\necho changed\n') });
  });

  it('compresses a part of more than 64 MiB as two zstd jobs of half the part each, into a frame that unpacks whole', async () => {
    expect(zstdJobBytes(64 << 20)).toBeUndefined();
    expect(zstdJobBytes(Math.round(190.6 * (1 << 20)))).toBe(96 << 20); // hook-docker's binaries
    const dockerd = Buffer.alloc(70 << 20, 'dockerd');
    const image = join(work, 'segments', 'two-jobs.zst');
    await writeInitramfs([file('usr/bin/dockerd', dockerd, { origin: 'hook-docker', mode: 0o755 })], { output: image, level: 3, env: {} });
    const unpacked = await snapshot(await unpack(image, 'zstd'));
    expect(unpacked.get('usr/bin/dockerd')).toMatchObject({ type: 'file', content: sha(dockerd), mode: 0o755 });
  });

  it('compresses a damaged cache entry again instead of using it', async () => {
    const cache = join(work, 'damaged-cache');
    const good = await writeInitramfs(images(), { output: join(work, 'segments', 'good.zst'), env: {}, segmentCache: cache });
    for (const name of (await readdir(cache)).filter((n) => n.endsWith('.part'))) await writeFile(join(cache, name), 'not zstd');
    const again = await writeInitramfs(images(), { output: join(work, 'segments', 'again.zst'), env: {}, segmentCache: cache });
    expect(again.segments.reused).toBe(0);
    expect(again.sha256).toBe(good.sha256);
  });
});
