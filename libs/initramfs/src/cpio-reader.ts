/**
 * Reads a cpio "newc" archive (what `linuxkit build --format kernel+initrd` writes, gunzipped)
 * back into FsEntry objects, so an initrd made elsewhere can go through writeInitramfs
 * (de-duplication, size report, zstd, fixed mtimes) like a natively assembled one.
 *
 * Hard links follow the newc convention that GNU cpio and the kernel share: names with the same
 * (dev, ino) and nlink > 1 are one file, and the data travels with one of them (GNU cpio: the
 * last). The first name that carries the data becomes the `file`; the others become `hardlink`
 * entries pointing at it. Several archives may be concatenated, as the kernel accepts.
 */
import { posix } from 'node:path';
import { UserError } from '@hook/log';
import type { EntryType, FsEntry } from './entry';
import { NEWC_HEADER_SIZE, NEWC_MAGIC, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, TRAILER_NAME, decodeHeader, pad4 } from './cpio';

const TYPES = new Map<number, EntryType>([
  [S_IFREG, 'file'],
  [S_IFDIR, 'directory'],
  [S_IFLNK, 'symlink'],
  [S_IFCHR, 'char'],
  [S_IFBLK, 'block'],
  [S_IFIFO, 'fifo'],
]);

/** Pulls exact byte counts out of a chunked stream. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  offset = 0;

  constructor(private readonly source: AsyncIterator<Buffer | string>) {}

  /** Exactly `length` bytes, or fewer only at the end of the input. */
  async read(length: number): Promise<Buffer> {
    while (this.buffered < length && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else {
        const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const taken = all.subarray(0, Math.min(length, all.length));
    const rest = all.subarray(taken.length);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    this.offset += taken.length;
    return taken;
  }

  async readExactly(length: number, what: string): Promise<Buffer> {
    const data = await this.read(length);
    if (data.length < length) throw new UserError(`cpio archive is truncated at byte ${this.offset} (in ${what})`);
    return data;
  }
}

/** `./etc//hosts/` -> `etc/hosts`; `.` -> ''. Names cannot climb above the root. */
function cleanName(name: string): string {
  return posix.normalize(`/${name}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

/** A hard-link group whose data has not been seen yet: its names so far. */
interface PendingLinks {
  names: FsEntry[];
  nlink: number;
}

/** The entries of a newc archive (uncompressed) in archive order; the root `.` is skipped. */
export async function* readNewcArchive(source: AsyncIterable<Buffer | string>): AsyncGenerator<FsEntry> {
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  const dataHolder = new Map<string, string>(); // "dev:ino" -> path holding the group's data
  const pending = new Map<string, PendingLinks>();
  let sawArchive = false;
  for (;;) {
    const magic = await skipPadding(reader);
    if (magic === undefined) break;
    if (magic.toString('latin1') !== NEWC_MAGIC) {
      throw new UserError(`not a cpio newc archive at byte ${reader.offset - magic.length} (magic ${JSON.stringify(magic.toString('latin1'))}, want ${NEWC_MAGIC})`);
    }
    sawArchive = true;
    const rest = await reader.readExactly(NEWC_HEADER_SIZE - magic.length, 'a header');
    const headerOnly = decodeHeader(Buffer.concat([magic, rest]));
    const nameAndPad = await reader.readExactly(headerOnly.nameSize + pad4(NEWC_HEADER_SIZE + headerOnly.nameSize), 'a file name');
    const name = nameAndPad.toString('utf8', 0, headerOnly.nameSize - 1);
    if (name === TRAILER_NAME) {
      // An archive ends here; another may follow (and each archive has its own inode numbers).
      yield* flushPending(pending);
      dataHolder.clear();
      continue;
    }
    const data = await reader.readExactly(headerOnly.filesize, name);
    await reader.readExactly(pad4(headerOnly.filesize), `the padding after ${name}`);
    const path = cleanName(name);
    if (path === '') continue;
    const type = TYPES.get(headerOnly.mode & S_IFMT);
    if (!type) throw new UserError(`cpio entry ${name} has an unknown file type (mode ${headerOnly.mode.toString(8)})`);
    const entry: FsEntry = { path, type, mode: headerOnly.mode & 0o7777, uid: headerOnly.uid, gid: headerOnly.gid, mtime: headerOnly.mtime };
    if (type === 'symlink') entry.linkTarget = data.toString('utf8');
    if (type === 'char' || type === 'block') {
      entry.devMajor = headerOnly.rdevMajor;
      entry.devMinor = headerOnly.rdevMinor;
    }
    if (type !== 'file') {
      yield entry;
      continue;
    }
    const withData = { ...entry, size: data.length, content: () => data };
    if (headerOnly.nlink < 2) {
      yield withData;
      continue;
    }
    const key = `${headerOnly.devMajor}:${headerOnly.devMinor}:${headerOnly.ino}`;
    const holder = dataHolder.get(key);
    if (holder !== undefined) {
      yield { ...entry, type: 'hardlink', linkTarget: holder };
      continue;
    }
    const group = pending.get(key) ?? { names: [], nlink: headerOnly.nlink };
    pending.set(key, group);
    if (data.length > 0) {
      // The data is here: the file, then the names that came before it.
      pending.delete(key);
      dataHolder.set(key, path);
      yield withData;
      for (const other of group.names) yield { ...other, type: 'hardlink', linkTarget: path };
      continue;
    }
    group.names.push(entry);
    if (group.names.length >= group.nlink) {
      // Every name has come and none had data: an empty file.
      dataHolder.set(key, group.names[0]!.path);
      yield* flushPending(new Map([[key, group]]));
      pending.delete(key);
    }
  }
  yield* flushPending(pending);
  if (!sawArchive) throw new UserError('the cpio archive is empty (no newc header found)');
}

/** Groups whose data never came (empty files, or an archive cut short of names): first name is the file. */
function* flushPending(pending: Map<string, PendingLinks>): Generator<FsEntry> {
  for (const { names } of pending.values()) {
    const [first, ...others] = names;
    yield { ...first!, size: 0, content: () => Buffer.alloc(0) };
    for (const other of others) yield { ...other, type: 'hardlink', linkTarget: first!.path };
  }
  pending.clear();
}

/** Skips the NUL padding between and after archives; the next 6 bytes, or undefined at the end. */
async function skipPadding(reader: ByteReader): Promise<Buffer | undefined> {
  for (;;) {
    const head = await reader.read(1);
    if (head.length === 0) return undefined;
    if (head[0] !== 0) {
      const more = await reader.read(NEWC_MAGIC.length - 1);
      return Buffer.concat([head, more]);
    }
  }
}
