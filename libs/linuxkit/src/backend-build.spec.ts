import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeHeader } from '@hook/initramfs';
import { imageRefsOf, kernelFileNames, linuxkitInitrdEntries } from './backend-build';

/** One newc record with its data, padded as the format wants. */
function record(name: string, mode: number, data = ''): Buffer {
  const bytes = Buffer.from(data);
  const header = encodeHeader({ ino: 1, mode, uid: 0, gid: 0, nlink: 1, mtime: 0, filesize: bytes.length, devMajor: 3, devMinor: 1, rdevMajor: 0, rdevMinor: 0 }, Buffer.from(name));
  return Buffer.concat([header, bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);
}
const trailer = () => encodeHeader({ ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, filesize: 0, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0 }, Buffer.from('TRAILER!!!'));

describe('linuxkit backend', () => {
  it('reads linuxkit initrd as the kernel unpacks it: a symlink cannot replace a directory that has contents', async () => {
    // linuxkit's order: kernel.tar (lib/modules) first, then a merged-/usr init image (lib -> usr/lib).
    const cpio = Buffer.concat([
      record('lib', 0o040755),
      record('lib/modules', 0o040755),
      record('lib/modules/6.6/modules.dep', 0o100644, 'x.ko:\n'),
      record('lib', 0o120777, 'usr/lib'),
      record('usr', 0o040755),
      record('usr/lib', 0o040755),
      record('boot', 0o040755),
      trailer(),
    ]);
    const dir = await mkdtemp(join(tmpdir(), 'lk-initrd-'));
    try {
      await writeFile(join(dir, 'hook-initrd.img'), gzipSync(cpio));
      const seen: string[] = [];
      for await (const e of linuxkitInitrdEntries(join(dir, 'hook-initrd.img'))) seen.push(`${e.path} ${e.type}`);
      expect(seen).toEqual(['lib directory', 'lib/modules directory', 'lib/modules/6.6/modules.dep file', 'usr directory', 'usr/lib directory', 'boot directory']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('caches every image the YAML names once, and the kernel files linuxkit looks for', () => {
    const config = {
      init: ['linuxkit/init:1', 'docker.io/linuxkit/init:1', 'alpine:3'],
      onboot: [{ name: 'a', image: 'alpine:3' }],
      services: [{ name: 'b', image: 'example.test/svc:1' }],
    };
    expect(imageRefsOf(config)).toEqual(['linuxkit/init:1', 'alpine:3', 'example.test/svc:1']);
    expect(kernelFileNames({ image: 'k' })).toEqual(['kernel', 'kernel.tar']);
    expect(kernelFileNames({ image: 'k', binary: 'bzImage', tar: 'none', ucode: 'intel-ucode.cpio' })).toEqual(['bzImage', 'intel-ucode.cpio']);
  });
});
