import { createReadStream } from 'node:fs';
import { chmod, chown, link, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { useTempDir } from '@hook/testing';
import { run } from '@hook/process';
import { encodeHeader, encodeTrailer } from './cpio';
import { readNewcArchive } from './cpio-reader';
import type { FsEntry } from './entry';

interface Read extends Omit<FsEntry, 'content'> {
  data?: string;
}

async function readAll(source: AsyncIterable<Buffer | string>): Promise<Read[]> {
  const out: Read[] = [];
  for await (const entry of readNewcArchive(source)) {
    const { content, ...rest } = entry;
    const read: Read = rest;
    if (content) read.data = (content() as Buffer).toString('utf8');
    out.push(read);
  }
  return out;
}

const isRoot = process.getuid?.() === 0;

describe('readNewcArchive', () => {
  const dir = useTempDir('cpio-reader-', 'all');

  it('reads what the system `cpio -o -H newc` writes: types, modes, owners, mtimes, links', async () => {
    const tree = join(dir.path, 'tree');
    await mkdir(join(tree, 'bin'), { recursive: true });
    await writeFile(join(tree, 'bin/busybox'), 'busybox binary');
    await chmod(join(tree, 'bin/busybox'), 0o4755);
    await link(join(tree, 'bin/busybox'), join(tree, 'bin/sh')); // GNU cpio puts the data on the last name
    await symlink('busybox', join(tree, 'bin/ls'));
    await writeFile(join(tree, 'empty'), '');
    await writeFile(join(tree, 'odd-size'), 'abcde'); // data padded to 4
    await mkdir(join(tree, 'home/user'), { recursive: true });
    await writeFile(join(tree, 'home/user/.profile'), 'x');
    await chown(join(tree, 'home/user/.profile'), 1000, 1001).catch(() => undefined);
    await run('mkfifo', [join(tree, 'fifo')]);
    if (isRoot) await run('mknod', ['-m', '0666', join(tree, 'null'), 'c', '1', '3']);
    for (const name of ['bin/busybox', 'odd-size', 'home/user/.profile']) await utimes(join(tree, name), 1600000000, 1600000000);
    const archive = join(dir.path, 'tree.cpio');
    await run('sh', ['-c', `find . | LC_ALL=C sort | cpio -o -H newc --quiet > '${archive}'`], { cwd: tree });

    const entries = await readAll(createReadStream(archive, { highWaterMark: 7 })); // tiny chunks: fields span reads
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(entries.some((e) => e.path === '')).toBe(false); // the archive's "." is the root, not an entry
    expect(byPath.get('bin')).toMatchObject({ type: 'directory' });
    // bin/busybox and bin/sh are one file: GNU cpio sends the data with the last name (sorted: bin/sh),
    // so that name is the file and the other a hard link to it, emitted after it.
    expect(byPath.get('bin/sh')).toMatchObject({ type: 'file', mode: 0o4755, mtime: 1600000000, size: 14, data: 'busybox binary' });
    expect(byPath.get('bin/busybox')).toMatchObject({ type: 'hardlink', linkTarget: 'bin/sh', mode: 0o4755 });
    expect(entries.findIndex((e) => e.path === 'bin/busybox')).toBeGreaterThan(entries.findIndex((e) => e.path === 'bin/sh'));
    expect(byPath.get('bin/ls')).toMatchObject({ type: 'symlink', linkTarget: 'busybox' });
    expect(byPath.get('empty')).toMatchObject({ type: 'file', size: 0, data: '' });
    expect(byPath.get('odd-size')).toMatchObject({ data: 'abcde', mode: 0o644 });
    expect(byPath.get('fifo')).toMatchObject({ type: 'fifo' });
    if (isRoot) {
      expect(byPath.get('home/user/.profile')).toMatchObject({ uid: 1000, gid: 1001, data: 'x' });
      expect(byPath.get('null')).toMatchObject({ type: 'char', mode: 0o666, devMajor: 1, devMinor: 3 });
    }
    expect(entries.map((e) => e.path).sort()).toEqual(['bin', 'bin/busybox', 'bin/ls', 'bin/sh', 'empty', 'fifo', 'home', 'home/user', 'home/user/.profile', ...(isRoot ? ['null'] : []), 'odd-size']);
  });

  it('reads concatenated archives (as the kernel does) and NUL padding after the trailer', async () => {
    const one = Buffer.concat([record('a', 0o100644, 'A', 1), encodeTrailer(), Buffer.alloc(508)]);
    const two = Buffer.concat([record('./b/', 0o040755, '', 1), record('b/c', 0o120777, 'a', 2), encodeTrailer()]);
    const entries = await readAll(Readable.from([one, two]));
    expect(entries.map((e) => [e.path, e.type, e.linkTarget ?? e.data])).toEqual([
      ['a', 'file', 'A'],
      ['b', 'directory', undefined],
      ['b/c', 'symlink', 'a'],
    ]);
  });

  it('keeps an empty hard-linked file whose names all carry no data', async () => {
    const archive = Buffer.concat([record('x', 0o100600, '', 9, 2), record('y', 0o100600, '', 9, 2), encodeTrailer()]);
    expect((await readAll(Readable.from([archive]))).map((e) => [e.path, e.type, e.linkTarget])).toEqual([
      ['x', 'file', undefined],
      ['y', 'hardlink', 'x'],
    ]);
  });

  it('says what is wrong with input that is not a newc archive, or is cut short', async () => {
    await expect(readAll(Readable.from([Buffer.from('\x1f\x8b\x08\x00 gzip data')]))).rejects.toThrow(/not a cpio newc archive at byte 0/);
    const whole = Buffer.concat([record('file', 0o100644, 'some data', 1), encodeTrailer()]);
    await expect(readAll(Readable.from([whole.subarray(0, 120)]))).rejects.toThrow(/cpio archive is truncated at byte \d+ \(in file\)/);
    await expect(readAll(Readable.from([]))).rejects.toThrow('the cpio archive is empty');
  });

  it('reads a large file whole', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 3, 7);
    const archive = Buffer.concat([encodeHeader(header(0o100644, big.length, 5), Buffer.from('big')), big, Buffer.alloc(1), encodeTrailer()]);
    const [entry] = await collect(Readable.from([archive.subarray(0, 1000), archive.subarray(1000)]));
    expect((entry!.content!() as Buffer).equals(big)).toBe(true);
  });
});

function header(mode: number, filesize: number, ino: number, nlink = 1) {
  return { ino, mode, uid: 0, gid: 0, nlink, mtime: 1492533000, filesize, devMajor: 3, devMinor: 1, rdevMajor: 0, rdevMinor: 0 };
}

function record(name: string, mode: number, data: string, ino: number, nlink = 1): Buffer {
  const bytes = Buffer.from(data);
  return Buffer.concat([encodeHeader(header(mode, bytes.length, ino, nlink), Buffer.from(name)), bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);
}

async function collect(source: AsyncIterable<Buffer>): Promise<FsEntry[]> {
  const out: FsEntry[] = [];
  for await (const entry of readNewcArchive(source)) out.push(entry);
  return out;
}

