import { parseImagesTxt } from './embedded-images';

describe('parseImagesTxt (upstream images.txt format)', () => {
  it('reads "<source image>[ <additional tag>]" lines; the last line may lack its newline', () => {
    expect(parseImagesTxt('quay.io/tinkerbell/tink-worker:v0.10.0 tink-worker:v0.10.0\nquay.io/tinkerbell/actions/cexec:latest 127.0.0.1/embedded/actions/cexec\nalpine:3')).toEqual([
      { source: 'quay.io/tinkerbell/tink-worker:v0.10.0', tag: 'tink-worker:v0.10.0' },
      { source: 'quay.io/tinkerbell/actions/cexec:latest', tag: '127.0.0.1/embedded/actions/cexec' },
      { source: 'alpine:3' },
    ]);
  });

  it('skips empty lines and # comments; an empty file lists nothing', () => {
    expect(parseImagesTxt('\n# preloaded\n  \nalpine:3\n')).toEqual([{ source: 'alpine:3' }]);
    expect(parseImagesTxt('')).toEqual([]);
  });

  it('a line with three fields is one error naming the file and line', () => {
    expect(() => parseImagesTxt('alpine:3\nbusybox:1 a b\n', 'images.txt')).toThrow('images.txt:2: "busybox:1 a b" has 3 fields; write "<source image>[ <additional tag>]"');
  });
});
