/**
 * Builds the tiny kernel from Debian's linux-source-6.12 on the host (no kernel.org), then boots
 * it in QEMU with a busybox initramfs holding its kernel.tar and loads a module.
 * Debian packages: build-essential bc bison flex libssl-dev libelf-dev kmod ccache xz-utils
 * busybox-static cpio qemu-system-x86. Cold: ~1-3 min (source unpack + tiny build); warm: seconds.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildKernelTarget } from './target';
import { SHARED_CACHE, INIT_PRELUDE, bootQemu, buildInitramfs, makeWorkspace, removeWorkspace } from '../test/helpers';

jest.setTimeout(15 * 60_000);

describe('tiny kernel from Debian source (integration: host build + QEMU)', () => {
  let root: string | undefined;
  afterAll(() => removeWorkspace(root));

  it('builds dist/kernels/test-tiny-amd64 and the kernel boots to the serial marker with its modules', async () => {
    root = await makeWorkspace(['test-tiny-amd64']);
    const env = { ...process.env, CACHE_DIR: SHARED_CACHE, KERNEL_SOURCE: 'debian', SOURCE_DATE_EPOCH: '1700000000' };
    const metadata = await buildKernelTarget({ workspaceRoot: root, kernelId: 'test-tiny-amd64', env });

    expect(metadata.version).toBe('6.12.117');
    expect(metadata.tag).toMatch(/^6\.12\.117-[0-9a-f]{8}$/);
    expect(metadata.image).toBe(`ghcr.io/tinkerbell/hook/kernel/hook-kernel:${metadata.tag}`);
    expect(metadata.source).toEqual({ provider: 'debian', version: '6.12.117-1', name: 'linux-source-6.12' });
    const dist = join(root, 'dist', 'kernels', 'test-tiny-amd64');
    const written = JSON.parse(await readFile(join(dist, 'kernel.json'), 'utf8'));
    expect(written).toEqual(metadata);
    expect(Object.keys(metadata.files).sort()).toEqual(['System.map', 'dtbs.tar.gz', 'kernel', 'kernel.tar']);

    const init = [
      INIT_PRELUDE,
      'echo "HOOK-UNAME $(uname -r)"',
      'modprobe virtio_blk && grep -q "^virtio_blk " /proc/modules && echo HOOK-MODULE-LOADED',
      'echo HOOK-TINY-BOOTED',
      'reboot -f',
    ].join('\n');
    const initrd = await buildInitramfs(root, init, join(dist, 'kernel.tar'));
    const console = await bootQemu(join(dist, 'kernel'), initrd, 120_000);
    expect(console).toContain(`HOOK-UNAME ${metadata.release}`);
    expect(console).toContain('HOOK-MODULE-LOADED');
    expect(console).toContain('HOOK-TINY-BOOTED');
  });
});
