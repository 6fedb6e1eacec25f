/**
 * Tar archives in TypeScript (tar-stream): packing a directory tree the way LinuxKit expects a
 * kernel.tar (a `./` root entry carrying the root's permissions, sorted, owned by root).
 * Unpacking lives in @hook/debian.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tarStream from 'tar-stream';

export interface PackOptions {
  gzip?: boolean;
  /** mtime of every entry, seconds since the epoch (reproducible archives). */
  mtime?: number;
}

/** Packs `dir` into `outPath` with entries `./`, `./a`, `./a/b` ... in sorted order. */
export async function packTree(dir: string, outPath: string, options: PackOptions = {}): Promise<void> {
  const pack = tarStream.pack();
  const mtime = new Date((options.mtime ?? 0) * 1000);
  const out = createWriteStream(outPath);
  const written = options.gzip ? pipeline(pack, createGzip({ level: 9 }), out) : pipeline(pack, out);

  const addEntry = (header: tarStream.Headers, body?: Readable | string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (body === undefined || typeof body === 'string') {
        pack.entry(header, body ?? '', (error) => (error ? reject(error) : resolve()));
        return;
      }
      const entry = pack.entry(header, (error) => (error ? reject(error) : resolve()));
      body.on('error', reject);
      body.pipe(entry);
    });

  const common = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime };
  const walk = async (relative: string): Promise<void> => {
    const absolute = join(dir, relative);
    const info = await lstat(absolute);
    const name = relative === '' ? './' : `./${relative}`;
    const mode = info.mode & 0o7777;
    if (info.isDirectory()) {
      await addEntry({ ...common, name: name.endsWith('/') ? name : `${name}/`, type: 'directory', mode });
      const children = (await readdir(absolute)).sort();
      for (const child of children) await walk(relative === '' ? child : posix.join(relative, child));
    } else if (info.isSymbolicLink()) {
      await addEntry({ ...common, name, type: 'symlink', mode, linkname: await readlink(absolute) });
    } else if (info.isFile()) {
      await addEntry({ ...common, name, type: 'file', mode, size: info.size }, createReadStream(absolute));
    }
  };
  try {
    await walk('');
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
  }
  await written;
}
