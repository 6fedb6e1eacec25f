/**
 * Test helpers: a temp workspace holding the real kernel definitions and configs, a minimal
 * busybox initramfs, and QEMU (TCG) runs that end on their own (the guest reboots with
 * -no-reboot) within a bounded time.
 * Debian packages: busybox-static, cpio, qemu-system-x86.
 */
import { cp, mkdir, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cacheDir } from '@hook/layout';
import { run } from '@hook/process';
import { bootAndWait, type QemuArch } from '@hook/qemu';
import { AptSuite, extractDebData } from '@hook/debian';

export const REPO_ROOT = resolve(__dirname, '../../..');
/** Tests share the workspace cache (downloads, unpacked sources, ccache) so reruns are quick. */
export const SHARED_CACHE = cacheDir(REPO_ROOT, process.env);

export async function makeWorkspace(kernelIds: string[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'hook-kernel-ws-'));
  await mkdir(join(root, 'kernel'), { recursive: true });
  for (const item of ['configs', 'keys', 'Dockerfile', 'versions.lock.json']) {
    await cp(join(REPO_ROOT, 'kernel', item), join(root, 'kernel', item), { recursive: true });
  }
  for (const id of kernelIds) await cp(join(REPO_ROOT, 'kernel', id), join(root, 'kernel', id), { recursive: true });
  return root;
}

export async function removeWorkspace(root: string | undefined): Promise<void> {
  if (root) await rm(root, { recursive: true, force: true });
}

/**
 * A gzip initramfs: busybox, /dev/console (a real char device: without it the serial console
 * stays silent), an /init script, and optionally a kernel.tar unpacked at /.
 */
export async function buildInitramfs(workDir: string, initScript: string, kernelTar?: string, busybox = '/bin/busybox'): Promise<string> {
  const root = join(workDir, 'initramfs-root');
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'dev'), { recursive: true });
  await cp(busybox, join(root, 'bin', 'busybox'));
  await run('mknod', ['-m', '600', join(root, 'dev', 'console'), 'c', '5', '1']);
  if (kernelTar) await run('tar', ['-xf', kernelTar, '-C', root]);
  await writeFile(join(root, 'init'), `#!/bin/busybox sh\n${initScript}\n`);
  await chmod(join(root, 'init'), 0o755);
  const out = join(workDir, 'initramfs.cpio.gz');
  await run('sh', ['-c', `cd "$1" && find . | cpio -o -H newc --quiet | gzip -1 > "$2"`, 'sh', root, out]);
  return out;
}

/** Ends a test init script: prints the marker bootQemu waits for, then stops the machine. */
export const INIT_END = ['echo HOOK-INIT-END', 'reboot -f'].join('\n');

/** Boots a kernel + initrd with libs/qemu under TCG; returns the serial console once the init script has ended (INIT_END). */
export async function bootQemu(kernel: string, initrd: string, timeoutMs: number, memoryMb = 512, arch: QemuArch = 'x86_64'): Promise<string> {
  const console = arch === 'x86_64' ? 'ttyS0' : 'ttyAMA0';
  const { serialLog } = await bootAndWait({ arch, kernel, initrd, append: `console=${console} panic=-1 quiet loglevel=4`, memoryMb, cpus: 1, marker: 'HOOK-INIT-END', timeoutMs, accel: 'tcg' });
  return serialLog;
}

/** A static arm64 busybox from Debian trixie's busybox-static (apt with the host's mirror, cached). */
export async function arm64Busybox(cacheDir: string): Promise<string> {
  const apt = new AptSuite(join(cacheDir, 'kernel'), 'trixie', 'arm64');
  const version = await apt.candidate('busybox-static');
  if (!version) throw new Error('Debian trixie has no busybox-static for arm64');
  const deb = await apt.download('busybox-static', version, join(cacheDir, 'kernel', 'downloads'));
  const out = join(cacheDir, 'kernel', 'test-busybox-arm64', version);
  const written = await extractDebData(deb, out, (path) => !path.includes('/share/'));
  const busybox = written.find((p) => p.endsWith('bin/busybox'));
  if (!busybox) throw new Error(`${deb} has no bin/busybox`);
  return join(out, busybox);
}

/** The init script's first lines: mount proc/sys, busybox applets on PATH. */
export const INIT_PRELUDE = [
  '/bin/busybox mkdir -p /proc /sys /sbin /usr/bin /usr/sbin',
  '/bin/busybox mount -t proc proc /proc',
  '/bin/busybox mount -t sysfs sys /sys',
  '/bin/busybox --install -s',
  'export PATH=/bin:/sbin:/usr/bin:/usr/sbin',
].join('\n');

/**
 * Boots a built tiny x86_64 kernel with busybox and its own kernel.tar, loads a module from it,
 * and returns the serial console: what both tiny-kernel tests (host and container builder) check.
 */
export async function bootTinyKernelWithModule(workDir: string, distDir: string): Promise<string> {
  const init = [
    INIT_PRELUDE,
    'echo "HOOK-UNAME $(uname -r)"',
    'modprobe virtio_blk && grep -q "^virtio_blk " /proc/modules && echo HOOK-MODULE-LOADED',
    'echo HOOK-TINY-BOOTED',
    INIT_END,
  ].join('\n');
  const initrd = await buildInitramfs(workDir, init, join(distDir, 'kernel.tar'));
  return bootQemu(join(distDir, 'kernel'), initrd, 120_000);
}
