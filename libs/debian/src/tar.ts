/** Unpacking tar streams to disk (tar-stream): what a .deb's data.tar holds. */
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, symlink, link, rm } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tarStream from 'tar-stream';

export type EntryFilter = (path: string, header: tarStream.Headers) => boolean;

/** Normalised member path without a leading `./` or `/`; undefined for paths escaping the root. */
export function memberPath(name: string): string | undefined {
  const cleaned = normalize(name.replace(/^(\.\/)+/, '').replace(/^\/+/, '')).replace(/\/+$/, '');
  if (cleaned === '.' || cleaned === '') return '';
  if (cleaned.startsWith('..')) return undefined;
  return cleaned;
}

/** Unpacks a tar stream into `destDir`: files, directories, symlinks, hard links, modes. */
export async function unpackTar(input: Readable, destDir: string, filter?: EntryFilter): Promise<string[]> {
  const extract = tarStream.extract();
  const written: string[] = [];
  const feeding = pipeline(input, extract);
  try {
    for await (const entry of extract) {
      const header = entry.header;
      const path = memberPath(header.name);
      if (path === undefined || (filter && path !== '' && !filter(path, header))) {
        entry.resume();
        continue;
      }
      const target = join(destDir, path);
      const mode = (header.mode ?? 0o644) & 0o7777;
      if (header.type === 'directory') {
        await mkdir(target, { recursive: true });
        await chmod(target, mode);
        entry.resume();
        continue;
      }
      await mkdir(dirname(target), { recursive: true });
      await rm(target, { force: true });
      if (header.type === 'symlink') {
        await symlink(header.linkname ?? '', target);
        entry.resume();
      } else if (header.type === 'link') {
        const source = memberPath(header.linkname ?? '');
        if (source === undefined) throw new Error(`tar member ${header.name} links outside the archive`);
        await link(join(destDir, source), target);
        entry.resume();
      } else if (header.type === 'file' || header.type === 'contiguous-file') {
        await pipeline(entry, createWriteStream(target, { mode }));
        await chmod(target, mode);
      } else {
        entry.resume();
        continue;
      }
      written.push(path);
    }
  } catch (error) {
    input.destroy();
    await feeding.catch(() => undefined);
    throw error;
  }
  await feeding;
  return written;
}
