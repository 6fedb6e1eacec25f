import { Readable } from 'node:stream';
import { ContentSpool } from './spool';

describe('ContentSpool', () => {
  let spool: ContentSpool;
  beforeEach(async () => {
    spool = await ContentSpool.create();
  });
  afterEach(async () => {
    await spool.dispose();
  });

  const read = (offset: number, size: number) => {
    const out = Buffer.alloc(size);
    spool.readInto(out, 0, size, offset);
    return out.toString();
  };

  it('keeps identical content once, whether it arrives as a buffer or a stream', async () => {
    const a = await spool.store(Buffer.from('hello world'));
    const b = await spool.store(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    const c = await spool.store(Readable.from([Buffer.from('other')]));
    const d = await spool.store(Buffer.from('other'));
    spool.finishWriting();
    expect(b).toEqual(a);
    expect(d).toEqual(c);
    expect(spool.distinctContents).toBe(2);
    expect(spool.packedBytes).toBe('hello world'.length + 'other'.length);
    expect(read(a.offset, a.size)).toBe('hello world');
    expect(read(c.offset, c.size)).toBe('other');
    expect(a.sha256).toBe('b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9');
  });

  it('gives back the space of a streamed duplicate, also across flushed buffers', async () => {
    const big = Buffer.alloc(3 << 20, 7);
    const first = await spool.store(Readable.from([big.subarray(0, 1 << 20), big.subarray(1 << 20)]));
    const again = await spool.store(Readable.from([big.subarray(0, 100), big.subarray(100)]));
    const after = await spool.store(Buffer.from('after'));
    spool.finishWriting();
    expect(again.offset).toBe(first.offset);
    expect(after.offset).toBe(big.length);
    expect(read(after.offset, 5)).toBe('after');
    expect(read(first.offset + big.length - 4, 4)).toBe('\x07\x07\x07\x07');
  });

  it('stores nothing for empty content', async () => {
    expect(await spool.store(undefined)).toMatchObject({ size: 0, offset: 0 });
    expect(await spool.store(Readable.from([]))).toMatchObject({ size: 0 });
    expect(spool.packedBytes).toBe(0);
  });
});
