/**
 * Boot check: does the kernel unpack what writeInitramfs writes as intended? Not a unit test
 * (QEMU under TCG takes ~10-30 s); run it after changing the archive layout:
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/initramfs-boot.ts [--kernel VMLINUZ]
 *
 * It builds a tiny zstd initramfs (static busybox, a de-duplicated group of three files, an
 * input hard link, a setuid file, /dev/console 5,1, a file placed through a merged-/usr
 * symlink), boots it with QEMU, and /init prints what the kernel created; the script checks it.
 * Needs Debian packages: qemu-system-x86, busybox-static, zstd. Kernel: --kernel, else the
 * vmlinuz in the initramfs benchmark's tree (bench/initramfs.ts builds it), else /boot/vmlinuz-*.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@hook/process';
import { writeInitramfs, type FsEntry } from '@hook/initramfs';

const init = `#!/bin/busybox sh
B=/bin/busybox
$B mkdir -p /proc && $B mount -t proc proc /proc
for f in /data/a.txt /data/b.txt /data/c.txt /bin/sh /bin/busybox /data/suid /usr/lib/marker; do
  echo "HOOK-CHECK $($B stat -c '%n ino=%i links=%h mode=%a size=%s' $f)"
done
echo "HOOK-CHECK content-c $($B cat /data/c.txt)"
echo "HOOK-CHECK content-a $($B cat /data/a.txt)"
echo "HOOK-CHECK console $($B stat -c '%F %t,%T' /dev/console)"
echo "HOOK-CHECK lib $($B readlink /lib)"
echo HOOK-CHECK-END
$B poweroff -f
`;

function findKernel(): string {
  const i = process.argv.indexOf('--kernel');
  if (i >= 0) return process.argv[i + 1];
  for (const dir of ['/tmp/hook-initramfs-bench/tree/boot', '/boot']) {
    const found = (() => {
      try {
        return readdirSync(dir).filter((f) => f.startsWith('vmlinuz-'));
      } catch {
        return [];
      }
    })();
    if (found.length > 0) return join(dir, found.sort().at(-1)!);
  }
  throw new Error('no kernel found: pass --kernel /path/to/vmlinuz');
}

async function main(): Promise<void> {
  const kernel = findKernel();
  const work = await mkdtemp(join(tmpdir(), 'initramfs-boot-'));
  try {
    const base = { uid: 0, gid: 0, mtime: 0 };
    const shared = Buffer.from('shared content\n');
    const entries: FsEntry[] = [
      { ...base, path: 'init', type: 'file', mode: 0o755, content: () => Buffer.from(init) },
      { ...base, path: 'bin/busybox', type: 'file', mode: 0o755, content: () => readFileSync('/bin/busybox') },
      { ...base, path: 'bin/sh', type: 'hardlink', mode: 0o755, linkTarget: 'bin/busybox' },
      { ...base, path: 'data/b.txt', type: 'file', mode: 0o644, content: () => shared },
      { ...base, path: 'data/c.txt', type: 'file', mode: 0o644, content: () => shared },
      { ...base, path: 'data/a.txt', type: 'file', mode: 0o644, content: () => shared },
      { ...base, path: 'data/suid', type: 'file', mode: 0o4755, content: () => Buffer.from('x') },
      { ...base, path: 'usr/lib', type: 'directory', mode: 0o755 },
      { ...base, path: 'lib', type: 'symlink', mode: 0o777, linkTarget: 'usr/lib' },
      { ...base, path: 'lib/marker', type: 'file', mode: 0o600, content: () => Buffer.from('m') },
      { ...base, path: 'dev/console', type: 'char', mode: 0o600, devMajor: 5, devMinor: 1 },
    ];
    const image = join(work, 'initramfs.zst');
    const result = await writeInitramfs(entries, { output: image });
    console.log(`initramfs ${(await stat(image)).size} bytes, ${result.entries.hardlinks} hard-linked names; booting ${kernel}`);
    const boot = await run(
      'qemu-system-x86_64',
      ['-machine', 'q35,accel=tcg', '-m', '512', '-smp', '1', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot', '-kernel', kernel, '-initrd', image, '-append', 'console=ttyS0 panic=-1 quiet'],
      { timeoutMs: 180_000, allowFailure: true },
    );
    const lines = boot.stdout.split(/\r?\n/).filter((l) => l.startsWith('HOOK-CHECK'));
    for (const line of lines) console.log(line);
    if (!lines.includes('HOOK-CHECK-END')) throw new Error(`the guest did not finish /init; console:\n${boot.stdout.slice(-3000)}`);

    const field = (name: string, key: string) => new RegExp(`HOOK-CHECK ${name} .*${key}=(\\S+)`).exec(lines.join('\n'))?.[1];
    const failures: string[] = [];
    const expectEqual = (what: string, actual: unknown, expected: unknown) => {
      if (actual !== expected) failures.push(`${what}: got ${String(actual)}, expected ${String(expected)}`);
    };
    const ino = field('/data/a.txt', 'ino');
    expectEqual('b.txt shares a.txt inode', field('/data/b.txt', 'ino'), ino);
    expectEqual('c.txt shares a.txt inode', field('/data/c.txt', 'ino'), ino);
    expectEqual('a.txt link count', field('/data/a.txt', 'links'), '3');
    expectEqual('a.txt size', field('/data/a.txt', 'size'), String(shared.length));
    expectEqual('/bin/sh shares busybox inode', field('/bin/sh', 'ino'), field('/bin/busybox', 'ino'));
    expectEqual('setuid mode', field('/data/suid', 'mode'), '4755');
    expectEqual('file through lib -> usr/lib', field('/usr/lib/marker', 'mode'), '600');
    expectEqual('content seen through the first name', lines.find((l) => l.startsWith('HOOK-CHECK content-a')), 'HOOK-CHECK content-a shared content');
    expectEqual('/dev/console', lines.find((l) => l.startsWith('HOOK-CHECK console')), 'HOOK-CHECK console character special file 5,1');
    expectEqual('lib symlink kept', lines.find((l) => l.startsWith('HOOK-CHECK lib')), 'HOOK-CHECK lib usr/lib');
    if (failures.length > 0) throw new Error(`boot check failed:\n${failures.join('\n')}`);
    console.log('boot check passed: the kernel unpacked hard-link groups, modes, /dev/console and the merged-/usr path as written');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
