/**
 * The cpio "newc" format (SVR4 without checksums), the only one the kernel unpacks:
 * a 110-byte ASCII header ("070701" and 13 eight-digit hex fields), the name with its NUL
 * padded so header + name is a multiple of 4, then the data padded to a multiple of 4.
 */

export const NEWC_MAGIC = '070701';
export const NEWC_HEADER_SIZE = 110;
export const TRAILER_NAME = 'TRAILER!!!';

/** File type bits of c_mode (as in <sys/stat.h>). */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

export interface NewcHeader {
  ino: number;
  /** Type bits | permission bits. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  filesize: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
}

const MAX_FIELD = 0xffffffff;

function hex8(value: number, field: string): string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_FIELD) {
    throw new RangeError(`cpio newc field ${field} out of range: ${value}`);
  }
  return value.toString(16).padStart(8, '0');
}

/** Bytes needed to bring `length` up to a multiple of 4. */
export function pad4(length: number): number {
  return (4 - (length % 4)) % 4;
}

/** Encodes one record head: header, the name (UTF-8 bytes) with its NUL, padding to 4. */
export function encodeHeader(header: NewcHeader, name: Buffer): Buffer {
  const nameSize = name.length + 1;
  const fields =
    NEWC_MAGIC +
    hex8(header.ino, 'ino') +
    hex8(header.mode, 'mode') +
    hex8(header.uid, 'uid') +
    hex8(header.gid, 'gid') +
    hex8(header.nlink, 'nlink') +
    hex8(header.mtime, 'mtime') +
    hex8(header.filesize, 'filesize') +
    hex8(header.devMajor, 'devmajor') +
    hex8(header.devMinor, 'devminor') +
    hex8(header.rdevMajor, 'rdevmajor') +
    hex8(header.rdevMinor, 'rdevminor') +
    hex8(nameSize, 'namesize') +
    '00000000';
  const total = NEWC_HEADER_SIZE + nameSize + pad4(NEWC_HEADER_SIZE + nameSize);
  const record = Buffer.alloc(total);
  record.write(fields, 0, 'latin1');
  name.copy(record, NEWC_HEADER_SIZE);
  return record;
}

/** The end-of-archive record (GNU cpio writes nlink 1, everything else 0). */
export function encodeTrailer(): Buffer {
  return encodeHeader(
    { ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, filesize: 0, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0 },
    Buffer.from(TRAILER_NAME),
  );
}

/** Parses one header (for tests and tools that inspect an archive). */
export function decodeHeader(record: Buffer, offset = 0): NewcHeader & { nameSize: number; name: string; dataOffset: number } {
  const text = record.toString('latin1', offset, offset + NEWC_HEADER_SIZE);
  if (!text.startsWith(NEWC_MAGIC)) throw new Error(`no cpio newc magic at offset ${offset}`);
  const field = (i: number) => parseInt(text.slice(6 + i * 8, 14 + i * 8), 16);
  const nameSize = field(11);
  const nameStart = offset + NEWC_HEADER_SIZE;
  const name = record.toString('utf8', nameStart, nameStart + nameSize - 1);
  const dataOffset = nameStart + nameSize + pad4(NEWC_HEADER_SIZE + nameSize);
  return {
    ino: field(0),
    mode: field(1),
    uid: field(2),
    gid: field(3),
    nlink: field(4),
    mtime: field(5),
    filesize: field(6),
    devMajor: field(7),
    devMinor: field(8),
    rdevMajor: field(9),
    rdevMinor: field(10),
    nameSize,
    name,
    dataOffset,
  };
}
