import { decodeHeader, encodeHeader, encodeTrailer, pad4 } from './cpio';

describe('cpio newc records', () => {
  it('encodes the header as the kernel parses it: magic, 13 hex fields, name with NUL padded to 4', () => {
    const record = encodeHeader(
      { ino: 0x2a, mode: 0o020600, uid: 1000, gid: 5, nlink: 1, mtime: 1492533000, filesize: 0, devMajor: 0, devMinor: 0, rdevMajor: 5, rdevMinor: 1 },
      Buffer.from('dev/console'),
    );
    const text = record.toString('latin1');
    expect(text.slice(0, 110)).toBe(
      '070701' + '0000002a' + '00002180' + '000003e8' + '00000005' + '00000001' + '58f63f08' + '00000000' + '00000000' + '00000000' + '00000005' + '00000001' + '0000000c' + '00000000',
    );
    expect(text.slice(110, 122)).toBe('dev/console\0');
    expect(record.length % 4).toBe(0);
    expect(record.length).toBe(124);
  });

  it('round-trips through the parser, including UTF-8 names', () => {
    const name = Buffer.from('usr/share/zoneinfo/Amérique');
    const record = encodeHeader({ ino: 7, mode: 0o100644, uid: 0, gid: 0, nlink: 3, mtime: 0, filesize: 99, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0 }, name);
    const parsed = decodeHeader(record);
    expect(parsed).toMatchObject({ ino: 7, nlink: 3, filesize: 99, name: 'usr/share/zoneinfo/Amérique', dataOffset: record.length });
  });

  it('ends with the TRAILER!!! record', () => {
    expect(decodeHeader(encodeTrailer()).name).toBe('TRAILER!!!');
  });

  it('rejects values newc cannot hold (files of 4 GiB and more)', () => {
    expect(() =>
      encodeHeader({ ino: 1, mode: 0o100644, uid: 0, gid: 0, nlink: 1, mtime: 0, filesize: 2 ** 32, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0 }, Buffer.from('big')),
    ).toThrow(/filesize out of range/);
  });

  it('pads to multiples of 4', () => {
    expect([0, 1, 2, 3, 4, 5].map(pad4)).toEqual([0, 3, 2, 1, 0, 3]);
  });
});
