/**
 * Debian packages read in TypeScript: the `ar` container, then data.tar.{xz,zst,gz} through
 * xz/zstd (external filters) or zlib, unpacked with tar-stream.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { UserError } from '@hook/log';
import { spawnFilter } from '@hook/process';
import { unpackTar, type EntryFilter } from './tar';

export interface ArMember {
  name: string;
  /** Byte offset of the member's data in the file. */
  offset: number;
  size: number;
}

const AR_MAGIC = '!<arch>\n';
const AR_HEADER_SIZE = 60;

/** Lists the members of an `ar` archive (the .deb container). */
export async function readArMembers(path: string): Promise<ArMember[]> {
  const file = await open(path, 'r');
  try {
    const { size: fileSize } = await file.stat();
    const magic = Buffer.alloc(8);
    await file.read(magic, 0, 8, 0);
    if (magic.toString('latin1') !== AR_MAGIC) throw new UserError(`${path} is not a Debian package (no ar header); delete it and download it again`);
    const members: ArMember[] = [];
    let position = 8;
    const header = Buffer.alloc(AR_HEADER_SIZE);
    while (position + AR_HEADER_SIZE <= fileSize) {
      await file.read(header, 0, AR_HEADER_SIZE, position);
      if (header.toString('latin1', 58, 60) !== '`\n') throw new UserError(`${path}: corrupt ar member header at byte ${position}`);
      const name = header.toString('latin1', 0, 16).trim().replace(/\/$/, '');
      const size = Number.parseInt(header.toString('latin1', 48, 58).trim(), 10);
      const offset = position + AR_HEADER_SIZE;
      if (!Number.isFinite(size) || offset + size > fileSize) throw new UserError(`${path}: truncated package (member ${name})`);
      members.push({ name, offset, size });
      position = offset + size + (size % 2);
    }
    return members;
  } finally {
    await file.close();
  }
}

/** Streams one member of an `ar` archive, decompressed according to its name. */
async function decompressedMember(path: string, member: ArMember): Promise<{ stream: Readable; done: Promise<void> }> {
  const raw = createReadStream(path, { start: member.offset, end: member.offset + member.size - 1 });
  const external = member.name.endsWith('.xz') ? 'xz' : member.name.endsWith('.zst') ? 'zstd' : undefined;
  if (external) {
    const filter = await spawnFilter(external, ['-dc']);
    const feeding = pipeline(raw, filter.stdin);
    return { stream: filter.stdout, done: Promise.all([feeding, filter.done]).then(() => undefined) };
  }
  if (member.name.endsWith('.gz')) {
    const gunzip = createGunzip();
    raw.pipe(gunzip);
    return { stream: gunzip, done: Promise.resolve() };
  }
  if (member.name.endsWith('.tar')) return { stream: raw, done: Promise.resolve() };
  throw new UserError(`${path}: unsupported package member compression (${member.name})`);
}

/** Unpacks a .deb's data.tar.* into `destDir`; returns the paths written. */
export async function extractDebData(debPath: string, destDir: string, filter?: EntryFilter): Promise<string[]> {
  const members = await readArMembers(debPath);
  const data = members.find((m) => m.name.startsWith('data.tar'));
  if (!data) throw new UserError(`${debPath} has no data.tar member; is it a Debian package?`);
  const { stream, done } = await decompressedMember(debPath, data);
  let written: string[];
  try {
    written = await unpackTar(stream, destDir, filter);
  } catch (error) {
    await done.catch(() => undefined);
    throw error;
  }
  await done;
  return written;
}
