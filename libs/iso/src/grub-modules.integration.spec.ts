/**
 * Integration: Debian's arm64 GRUB on this (amd64) host, from the host's mirror through apt, then
 * a real grub-mkimage, mtools and xorriso build of an arm64 ISO. (Its boot under AAVMF is in
 * libs/boot-test/src/arm64.e2e.spec.ts, with the real hook-debian-arm64.)
 * Debian packages: apt, grub-common, mtools, xorriso, xz-utils.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import { UserError } from '@hook/log';
import { run } from '@hook/process';
import { buildEfiIso } from './build';
import { downloadedGrubPackage, grubMkimageVersion, grubModulesDir } from './grub-modules';

jest.setTimeout(300_000);

/** The machine type of a PE/COFF file (what UEFI checks before it runs BOOTAA64.EFI). */
function peMachine(image: Buffer): number {
  expect(image.toString('latin1', 0, 2)).toBe('MZ');
  const pe = image.readUInt32LE(0x3c);
  expect(image.toString('latin1', pe, pe + 4)).toBe('PE\0\0');
  return image.readUInt16LE(pe + 4);
}

describe('GRUB modules of another architecture (integration: the host mirror, apt, grub-mkimage)', () => {
  const work = useTempDir('hook-grub-modules-', 'all');

  it("downloads Debian's arm64 GRUB of the host grub-mkimage's version once, and an arm64 ISO carries an arm64 PE BOOTAA64.EFI", async () => {
    const cacheDir = join(work.path, 'cache');
    // An empty "installed" root stands for a host without grub-efi-arm64-bin (on arm64 hosts too).
    const request = { arch: 'aarch64' as const, cacheDir, installedRoot: join(work.path, 'none') };
    const dir = await grubModulesDir(request);
    expect(existsSync(join(dir, 'linux.mod'))).toBe(true);
    expect(dir).toMatch(/usr\/lib\/grub\/arm64-efi$/);
    expect(await downloadedGrubPackage(dir)).toEqual({ name: 'grub-efi-arm64-bin', version: await grubMkimageVersion(), architecture: 'arm64' });
    // Kept: only the modules, not the package's docs or scripts.
    expect((await run('find', [join(cacheDir, 'unpacked'), '-type', 'f', '-not', '-path', '*/usr/lib/grub/arm64-efi/*', '-printf', '%f\n'])).stdout.trim()).toBe('hook-package.json');

    // The second time it comes from the cache, without apt (its state folder may go).
    await rm(join(cacheDir, 'apt'), { recursive: true, force: true });
    await rm(join(cacheDir, 'downloads'), { recursive: true, force: true });
    expect(await grubModulesDir(request)).toBe(dir);
    expect(existsSync(join(cacheDir, 'apt'))).toBe(false);

    await mkdir(join(work.path, 'in'));
    const kernelPath = join(work.path, 'in', 'vmlinuz');
    const initrdPath = join(work.path, 'in', 'initramfs');
    await writeFile(kernelPath, Buffer.alloc(200_000, 7));
    await writeFile(initrdPath, Buffer.alloc(300_000, 9));
    const iso = join(work.path, 'arm64.iso');
    await buildEfiIso({ arch: 'aarch64', kernelPath, initrdPath, cmdline: 'console=ttyAMA0', output: iso, sourceDateEpoch: 1700000000, grubModulesDir: dir });
    // The El Torito image is hidden in the ISO's tree: take it by its boot catalog entry.
    await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract_boot_images', join(work.path, 'boot-images')]);
    const efiboot = join(work.path, 'boot-images', 'eltorito_img1_uefi.img');
    const bootEfi = join(work.path, 'BOOTAA64.EFI');
    await run('mcopy', ['-i', efiboot, '::/EFI/BOOT/BOOTAA64.EFI', bootEfi], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    expect(peMachine(await readFile(bootEfi))).toBe(0xaa64);
  });

  it('says which folder is wrong when HOOK_GRUB_MODULES_DIR holds no modules', async () => {
    const empty = join(work.path, 'empty');
    await mkdir(empty, { recursive: true });
    await expect(grubModulesDir({ arch: 'aarch64', cacheDir: join(work.path, 'c2'), env: { HOOK_GRUB_MODULES_DIR: empty } })).rejects.toThrow(
      new UserError(`HOOK_GRUB_MODULES_DIR=${empty} holds no GRUB modules (no linux.mod); point it at a usr/lib/grub/arm64-efi folder`),
    );
    expect(existsSync(join(work.path, 'c2'))).toBe(false);
  });

  // On an amd64 host (scripts/setup.sh installs grub-efi-amd64-bin); on an arm64 host the amd64
  // modules are the foreign ones, downloaded as the arm64 ones are here: reported as skipped.
  (process.arch === 'x64' ? it : it.skip)('uses the host package when it is installed, without apt (amd64 hosts)', async () => {
    expect(await grubModulesDir({ arch: 'x86_64', cacheDir: join(work.path, 'c3') })).toBe('/usr/lib/grub/x86_64-efi');
    expect(existsSync(join(work.path, 'c3'))).toBe(false);
  });
});
