/**
 * Integration: real grub-mkimage, mtools and xorriso; one real OVMF boot of the ISO.
 * Debian packages: grub-efi-amd64-bin, grub-common, mtools, xorriso; for the boot also
 * qemu-system-x86, ovmf, busybox-static, apt + dpkg (kernel download).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { useTempDir } from '@hook/testing';
import { UserError } from '@hook/log';
import { run } from '@hook/process';
import { bootAndWait } from '@hook/qemu';
import { CMDLINE_PREFIX, debianTestKernel, writeTinyInitramfs } from '@hook/qemu/testing';
import { buildEfiIso } from './build';
import { HOOK_ISO_CMDLINE_PLACEHOLDER, findPlaceholder, patchCmdline } from './placeholder';

const EPOCH = 1700000000;

describe('buildEfiIso (integration: grub-mkimage, mtools, xorriso)', () => {
  const work = useTempDir('hook-iso-spec-', 'all');

  async function inputs(dir: string, mtime: number): Promise<{ kernelPath: string; initrdPath: string }> {
    await mkdir(dir, { recursive: true });
    const kernelPath = join(dir, 'vmlinuz');
    const initrdPath = join(dir, 'initramfs');
    await writeFile(kernelPath, Buffer.alloc(300_000, 7));
    await writeFile(initrdPath, Buffer.alloc(500_000, 9), { mode: mtime % 2 ? 0o600 : 0o644 });
    await utimes(kernelPath, mtime, mtime);
    await utimes(initrdPath, mtime, mtime);
    return { kernelPath, initrdPath };
  }

  it('is byte-identical for the same inputs, whatever their timestamps, modes and build time', async () => {
    const first = join(work.path, 'a', 'hook.iso');
    const second = join(work.path, 'b', 'hook.iso');
    await mkdir(join(work.path, 'a'));
    await mkdir(join(work.path, 'b'));
    const common = { arch: 'x86_64' as const, cmdline: HOOK_ISO_CMDLINE_PLACEHOLDER, sourceDateEpoch: EPOCH };
    await buildEfiIso({ ...common, ...(await inputs(join(work.path, 'in1'), 1600000001)), output: first });
    await sleep(1100); // a second later: any leaked clock time would show
    await buildEfiIso({ ...common, ...(await inputs(join(work.path, 'in2'), 1650000000)), output: second });
    const [a, b] = await Promise.all([readFile(first), readFile(second)]);
    expect(a.equals(b)).toBe(true);
    // Nothing else left next to the output (no work dirs, no partial files).
    expect(await readdir(join(work.path, 'a'))).toEqual(['hook.iso']);

    // A different epoch changes the dates, so the epoch really is what the dates come from.
    const third = join(work.path, 'a', 'other-epoch.iso');
    await buildEfiIso({ ...common, ...(await inputs(join(work.path, 'in3'), 1600000001)), sourceDateEpoch: EPOCH + 86400, output: third });
    expect((await readFile(third)).equals(a)).toBe(false);
  }, 60_000);

  it('holds the placeholder exactly once, on the grub.cfg linux line, and the EFI boot image', async () => {
    const iso = join(work.path, 'layout.iso');
    await buildEfiIso({ arch: 'x86_64', ...(await inputs(join(work.path, 'in4'), EPOCH)), cmdline: HOOK_ISO_CMDLINE_PLACEHOLDER, sourceDateEpoch: EPOCH, output: iso });
    expect(await findPlaceholder(iso)).toHaveLength(1);
    const listing = await run('xorriso', ['-indev', iso, '-find', '/', '-exec', 'lsdl', '--']);
    expect(listing.stdout).toMatch(/'\/kernel'/);
    expect(listing.stdout).toMatch(/'\/initrd.img'/);
    expect(listing.stdout).toMatch(/'\/EFI\/BOOT\/grub.cfg'/);
    expect(listing.stdout).not.toMatch(/efiboot.img|boot.catalog/); // hidden, like LinuxKit
    const grubCfg = await run('xorriso', ['-indev', iso, '-osirrox', 'on', '-extract', '/EFI/BOOT/grub.cfg', join(work.path, 'grub.cfg')]);
    expect(grubCfg.exitCode).toBe(0);
    expect(await readFile(join(work.path, 'grub.cfg'), 'utf8')).toContain(`\tlinux /kernel ${HOOK_ISO_CMDLINE_PLACEHOLDER} text\n\tinitrd /initrd.img\n`);
    const boot = await run('xorriso', ['-indev', iso, '-report_el_torito', 'plain']);
    expect(boot.stdout).toMatch(/El Torito boot img :\s+1\s+UEFI/);
  }, 60_000);

  it('explains missing GRUB modules and missing inputs, leaving no output', async () => {
    const emptyDir = join(work.path, 'no-grub');
    await mkdir(emptyDir);
    const output = join(work.path, 'never.iso');
    const files = await inputs(join(work.path, 'in5'), EPOCH);
    await expect(
      buildEfiIso({ arch: 'x86_64', ...files, cmdline: 'x', sourceDateEpoch: EPOCH, output, grubModulesDir: emptyDir }),
    ).rejects.toThrow(new UserError(`GRUB x86_64-efi modules not found in ${emptyDir}; install them (Debian: apt-get install grub-efi-amd64-bin)`));
    await expect(
      buildEfiIso({ arch: 'x86_64', ...files, kernelPath: join(work.path, 'nope'), cmdline: 'x', sourceDateEpoch: EPOCH, output }),
    ).rejects.toThrow(UserError);
    expect(existsSync(output)).toBe(false);
    await expect(
      buildEfiIso({ arch: 'x86_64', ...files, cmdline: 'x', sourceDateEpoch: EPOCH, output: join(work.path, 'no-such-dir', 'x.iso') }),
    ).rejects.toThrow(/folder does not exist/);
  });
});

describe('Hook ISO boot (integration: OVMF + TCG, Debian kernel, one boot)', () => {
  const work = useTempDir('hook-iso-boot-', 'all');

  it('boots through UEFI and the kernel sees the command line patched in like Smee does', async () => {
    const kernelPath = await debianTestKernel();
    const initrdPath = join(work.path, 'initramfs.cpio');
    await writeTinyInitramfs(initrdPath, { marker: 'HOOK-ISO-INIT-REACHED' });
    const iso = join(work.path, 'hook.iso');
    await buildEfiIso({ arch: 'x86_64', kernelPath, initrdPath, cmdline: HOOK_ISO_CMDLINE_PLACEHOLDER, sourceDateEpoch: EPOCH, output: iso });
    expect(await findPlaceholder(iso)).toHaveLength(1);

    await patchCmdline(iso, HOOK_ISO_CMDLINE_PLACEHOLDER, 'console=ttyS0 hook_test_marker=patched-123');
    const result = await bootAndWait({ arch: 'x86_64', accel: 'tcg', iso, marker: 'HOOK-ISO-INIT-REACHED', timeoutMs: 150_000 });
    expect(result.found).toBe(true);
    expect(result.serialLog).toMatch(new RegExp(`${CMDLINE_PREFIX}BOOT_IMAGE=/kernel console=ttyS0 hook_test_marker=patched-123 +text`));
  }, 240_000);
});
