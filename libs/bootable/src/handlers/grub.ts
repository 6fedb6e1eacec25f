/**
 * GRUB EFI media (upstream's bash/bootable/grub.sh), amd64 and arm64: a GPT disk with one EFI
 * System partition holding `vmlinuz`, `initrd.img`, GRUB as `EFI/BOOT/BOOTX64.EFI` or
 * `BOOTAA64.EFI`, `EFI/BOOT/grub.cfg` with the command line, and the device trees under
 * `dtb/` when the bootable says DTB. GRUB is made here with grub-mkimage (@hook/iso), not taken
 * from LinuxKit's grub image: its embedded config finds the partition by a marker file.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { grubModulesDir, grubPackageOf, grubTarget, makeGrubEfiImage, markerGrubConfig } from '@hook/iso';
import { cacheDir } from '@hook/layout';
import { run } from '@hook/process';
import { kernelCommandLine } from '../cmdline';
import type { FatFile } from '../disk-image';
import type { BootableHandler, HandlerContext } from '../handler';
import { listFiles } from '../files';

/** Only a Hook GRUB medium has this file at its root: GRUB's embedded config looks for it. */
export const GRUB_MEDIUM_MARKER = '/hookos-bootable.marker';
/** Where the partition starts, as upstream's images (room for a boot loader before it). */
export const PARTITION_START = 16 * 1024 * 1024;

const DEFAULT_CONSOLE = { x86_64: 'ttyS0', aarch64: 'ttyAMA0' } as const;

/** The medium's grub.cfg (upstream's, with the marker-found root). */
export function grubConfig(cmdline: string, arch: string): string {
  if (/[\r\n]/.test(cmdline)) throw new UserError('the kernel command line must be a single line (it contains a line break)');
  return ['set timeout=0', 'set gfxpayload=text', `menuentry 'Tinkerbell Hook ${arch}' {`, `  linux /vmlinuz ${cmdline}`, '  initrd /initrd.img', '}', ''].join('\n');
}

export const grubHandler: BootableHandler = {
  handler: 'grub',
  async layout(ctx: HandlerContext) {
    const { flavor, bootable } = ctx;
    const target = grubTarget(flavor.arch);
    const console = bootable.SERIAL_CONSOLE ?? DEFAULT_CONSOLE[flavor.arch];
    const cmdline = kernelCommandLine(ctx.tink, [`${console}${bootable.CONSOLE_EXTRA_ARGS ?? ''}`]);

    // The host's GRUB modules, else Debian's package of the medium's arch (arm64 on an amd64 host).
    const modulesDir = await grubModulesDir({ arch: flavor.arch, cacheDir: cacheDir(ctx.workspaceRoot, ctx.env, 'debian'), env: ctx.env });
    const bootEfi = join(ctx.workDir, target.bootFile);
    await makeGrubEfiImage({
      arch: flavor.arch,
      modulesDir,
      embeddedConfig: markerGrubConfig(GRUB_MEDIUM_MARKER, '/EFI/BOOT/grub.cfg', 'the HookOS partition'),
      modules: ['part_gpt', 'part_msdos', 'fat'],
      output: bootEfi,
      env: ctx.env,
    });

    const files: FatFile[] = [
      { path: 'vmlinuz', source: flavor.kernel },
      { path: 'initrd.img', source: flavor.initramfs },
      { path: `EFI/BOOT/${target.bootFile}`, source: bootEfi },
      { path: 'EFI/BOOT/grub.cfg', content: grubConfig(cmdline, flavor.arch) },
      { path: GRUB_MEDIUM_MARKER.slice(1), content: `HookOS ${flavor.flavorId} (${bootable.ID})\n` },
    ];
    if (bootable.DTB) {
      if (!flavor.dtbs) throw new UserError(`bootable ${bootable.ID} wants device trees (DTB: true) but flavor ${flavor.flavorId} has none (no dtbs-${flavor.outputId}.tar.gz); build an arm64 flavor whose kernel has them`);
      const dtbDir = join(ctx.workDir, 'dtb');
      await mkdir(dtbDir);
      // Upstream strips the archive's top folder: the device trees go under dtb/<vendor>/.
      await run('tar', ['-C', dtbDir, '--strip-components=1', '-xzf', flavor.dtbs]);
      for (const relative of await listFiles(dtbDir)) files.push({ path: `dtb/${relative}`, source: join(dtbDir, relative) });
    }
    const grub = await grubPackageOf(modulesDir);
    return { table: 'gpt', partitionStart: PARTITION_START, esp: true, volumeLabel: 'HOOK', files, raw: [], packages: grub ? [grub] : [] };
  },
};
