/**
 * `format: tar`: the entries written as one tar archive (LinuxKit's intermediate format), via a
 * temporary name renamed into place when complete.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack, type Headers } from 'tar-stream';
import type { FsEntry } from '@hook/initramfs';

const TAR_TYPES: Record<FsEntry['type'], Headers['type']> = {
  file: 'file',
  directory: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
  char: 'character-device',
  block: 'block-device',
  fifo: 'fifo',
};

/** Writes entries to a tar file; returns the number of entries. */
export async function writeTar(entries: AsyncIterable<FsEntry> | Iterable<FsEntry>, file: string): Promise<number> {
  const temp = `${file}.tmp-${process.pid}`;
  const archive = tarPack();
  const writing = pipeline(archive, createWriteStream(temp));
  let count = 0;
  try {
    for await (const entry of entries) {
      const header: Headers = {
        name: entry.type === 'directory' ? `${entry.path}/` : entry.path,
        type: TAR_TYPES[entry.type],
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        mtime: new Date(entry.mtime * 1000),
        linkname: entry.linkTarget,
        devmajor: entry.devMajor,
        devminor: entry.devMinor,
        size: entry.type === 'file' ? (entry.size ?? 0) : 0,
      };
      if (entry.type === 'file' && entry.content && (entry.size ?? 0) > 0) {
        const content = entry.content();
        if (Buffer.isBuffer(content)) {
          await new Promise<void>((resolve, reject) => archive.entry(header, content, (error) => (error ? reject(error) : resolve())));
        } else {
          await new Promise<void>((resolve, reject) => {
            const sink = archive.entry(header, (error) => (error ? reject(error) : resolve()));
            pipeline(content instanceof Readable ? content : Readable.from(content), sink).catch(reject);
          });
        }
      } else {
        await new Promise<void>((resolve, reject) => archive.entry(header, (error) => (error ? reject(error) : resolve())).end());
      }
      count++;
    }
    archive.finalize();
    await writing;
    await rename(temp, file);
    return count;
  } catch (error) {
    archive.destroy(error as Error);
    await writing.catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
