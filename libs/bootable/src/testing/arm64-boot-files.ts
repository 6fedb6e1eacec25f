/**
 * What the arm64 media boot tests boot without an arm64 HookOS build: Debian's arm64 kernel and a
 * static busybox, downloaded from the host's mirror and unpacked once into the test cache.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AptSuite, hostDebianSuite, unpackedPackage } from '@hook/debian';
import { testCacheDir } from '@hook/qemu/testing';

/** A Debian arm64 package, unpacked once into the test cache (only the `keep` paths). */
async function debianArm64(name: string, keep: string[]): Promise<string> {
  const suite = hostDebianSuite() ?? 'trixie';
  return (await unpackedPackage({ cacheDir: join(testCacheDir(), 'debian'), suite, debArch: 'arm64', name, keep })).dir;
}

/** Debian's arm64 kernel image (what linux-image-arm64 depends on): a plain arm64 Image. */
export async function debianArm64Kernel(): Promise<string> {
  const suite = hostDebianSuite() ?? 'trixie';
  const apt = new AptSuite(join(testCacheDir(), 'debian'), suite, 'arm64');
  const meta = await apt.candidate('linux-image-arm64');
  if (!meta) throw new Error(`linux-image-arm64 is not in ${suite} on the host's mirror`);
  const image = (await apt.depends('linux-image-arm64', meta)).find((d) => d.startsWith('linux-image-'));
  if (!image) throw new Error(`linux-image-arm64 ${meta} names no kernel package`);
  const dir = await debianArm64(image, ['boot/vmlinuz-']);
  const name = (await readdir(join(dir, 'boot'))).find((n) => n.startsWith('vmlinuz-'));
  if (!name) throw new Error(`${image} has no boot/vmlinuz-*`);
  return join(dir, 'boot', name);
}

/** busybox from Debian's arm64 busybox-static, for a tiny test initramfs. */
export async function arm64Busybox(): Promise<string> {
  const dir = await debianArm64('busybox-static', ['bin/busybox', 'usr/bin/busybox']);
  const path = [join(dir, 'usr/bin/busybox'), join(dir, 'bin/busybox')].find((p) => existsSync(p));
  if (!path) throw new Error('busybox-static has no busybox binary');
  return path;
}
