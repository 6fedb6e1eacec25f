/**
 * HANDLER armbian_uboot_rockchip, armbian_uboot_rockchip_vendor, armbian_uboot_amlogic
 * (upstream's bash/bootable/armbian-u-boot.sh): the board's u-boot from Armbian's OCI artifact
 * written where the SoC's boot ROM looks for it (armbian-uboot-layout.ts), and one FAT partition
 * with the kernel, the initramfs, the device trees under dtb/ and what u-boot's distro boot reads:
 * /extlinux/extlinux.conf (UBOOT_TYPE extlinux) or /boot.scr (UBOOT_TYPE bootscript, upstream's
 * default), with the command line and the board's serial console.
 */
import { readFile, stat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError, log } from '@hook/log';
import { armbianBoardOf } from '@hook/inventory';
import { hasCommand, run } from '@hook/process';
import { kernelCommandLine } from '../cmdline';
import type { FatFile, RawWrite } from '../disk-image';
import type { BootableHandler, HandlerContext } from '../handler';
import { listFiles } from '../files';
import type { ArtifactRegistry } from '@hook/oci';
import { fetchArmbianUboot } from './armbian-uboot-fetch';
import { bootCmd, extlinuxConf, ubootDiskLayout, writeBootableKernel, type UbootHandler } from './armbian-uboot-layout';
import { setting } from '@hook/settings';

/** File names on the partition (upstream's). */
export const UBOOT_KERNEL = 'vmlinuz';
export const UBOOT_INITRAMFS = 'initramfs';

/** The serial console when Armbian's metadata names none: the family's debug UART. */
const FAMILY_CONSOLE: Record<UbootHandler, string> = {
  armbian_uboot_rockchip: 'ttyS2',
  armbian_uboot_rockchip_vendor: 'ttyFIQ0',
  armbian_uboot_amlogic: 'ttyAML0',
};

/**
 * The `console=` values: Armbian's UBOOT_KERNEL_SERIALCON (else the bootable's SERIAL_CONSOLE,
 * else the family's UART). Armbian lists consoles with commas and writes a baud rate after a
 * colon (`ttyS2:1500000,tty1`); the kernel wants one console= each and the rate after a comma.
 * The bootable's CONSOLE_EXTRA_ARGS (the rate, ",1500000") goes to a console without one.
 */
export function ubootConsoles(handler: UbootHandler, metadata: Record<string, string>, serialConsole?: string, extraArgs?: string): string[] {
  const listed = (metadata.UBOOT_KERNEL_SERIALCON || serialConsole || FAMILY_CONSOLE[handler]).split(/[\s,]+/).filter(Boolean);
  const consoles = listed.map((entry, index) => (entry.includes(':') ? entry.replace(':', ',') : index === 0 ? `${entry}${extraArgs ?? ''}` : entry));
  for (const console of consoles) {
    if (!/^[A-Za-z0-9]+(,[A-Za-z0-9]+)?$/.test(console)) {
      throw new UserError(`the serial console '${console}' (from ${metadata.UBOOT_KERNEL_SERIALCON ? "the u-boot package's UBOOT_KERNEL_SERIALCON" : 'SERIAL_CONSOLE and CONSOLE_EXTRA_ARGS'}) is not a kernel console such as ttyS2,1500000`);
    }
  }
  return consoles;
}

export interface ArmbianUbootOptions {
  /** Replaces the OCI registry client (tests count pulls). */
  registry?: ArtifactRegistry;
}

function makeHandler(handler: UbootHandler, options: ArmbianUbootOptions = {}): BootableHandler {
  return {
    handler,
    async layout(ctx: HandlerContext) {
      const { flavor, bootable } = ctx;
      const { BOARD, BRANCH } = armbianBoardOf(ctx.board);
      const ubootType = bootable.UBOOT_TYPE ?? 'bootscript';
      const uboot = await fetchArmbianUboot({ workspaceRoot: ctx.workspaceRoot, board: BOARD, branch: BRANCH, env: ctx.env, registry: options.registry });
      const sizes: Record<string, number> = {};
      for (const file of uboot.files) sizes[file] = (await stat(join(uboot.binariesDir, file))).size;
      const disk = ubootDiskLayout(handler, uboot.files, sizes, uboot.metadata);

      const raw: RawWrite[] = [];
      for (const write of disk.writes) {
        const bytes = await readFile(join(uboot.binariesDir, write.file));
        const start = write.skip ?? 0;
        const content = bytes.subarray(start, write.length === undefined ? undefined : start + write.length);
        raw.push({ what: `u-boot ${write.file}${write.skip ? ` from byte ${write.skip}` : ''}`, offset: write.offset, content });
      }

      const kernel = join(ctx.workDir, UBOOT_KERNEL);
      if ((await writeBootableKernel(flavor.kernel, kernel)) === 'gunzipped') log.info(`${flavor.kernel} is gzip-compressed: unpacked for u-boot's booti`);
      const files: FatFile[] = [
        { path: UBOOT_KERNEL, source: kernel },
        { path: UBOOT_INITRAMFS, source: flavor.initramfs },
      ];

      const dtbFiles = await unpackDtbs(ctx);
      files.push(...dtbFiles.map((relative) => ({ path: `dtb/${relative}`, source: join(ctx.workDir, 'dtb', relative) })));
      const dtb = uboot.metadata.UBOOT_KERNEL_DTB;
      if (dtb && !dtbFiles.includes(dtb)) {
        throw new UserError(`the u-boot of board ${BOARD} boots device tree ${dtb}, which flavor ${flavor.flavorId} does not have (dtbs-${flavor.outputId}.tar.gz); use this bootable with its own flavor`);
      }

      const consoles = ubootConsoles(handler, uboot.metadata, bootable.SERIAL_CONSOLE, bootable.CONSOLE_EXTRA_ARGS);
      const armbianArgs = (uboot.metadata.UBOOT_EXTLINUX_CMDLINE ?? '').split(/\s+/).filter(Boolean);
      const append = kernelCommandLine(ctx.tink, consoles, armbianArgs);
      const boot = { kernel: `/${UBOOT_KERNEL}`, initrd: `/${UBOOT_INITRAMFS}`, append, fdt: dtb ? `/dtb/${dtb}` : undefined };
      if (ubootType === 'extlinux') {
        files.push({ path: 'extlinux/extlinux.conf', content: extlinuxConf({ ...boot, fdtdir: dtbFiles.length ? '/dtb/' : undefined }) });
      } else {
        const script = bootCmd(boot);
        files.push({ path: 'boot.cmd', content: script }, { path: 'boot.scr', source: await makeBootScript(ctx, script) });
      }
      log.info(`${bootable.ID}/${ctx.board.id}: ${uboot.reference}, ${disk.writes.map((w) => `${w.file} at byte ${w.offset}`).join(', ')}, ${ubootType}`);
      const [repository, tag] = [uboot.reference.slice(0, uboot.reference.lastIndexOf(':')), uboot.reference.slice(uboot.reference.lastIndexOf(':') + 1)];
      const packages = [{ name: repository.replace(/^.*\//, ''), version: tag, source: uboot.reference }];
      return { table: disk.table, partitionStart: disk.partitionStart, esp: false, active: disk.table === 'mbr', volumeLabel: 'HOOK', files, raw, packages };
    },
  };
}

/** The flavor's device trees, unpacked under workDir/dtb/<vendor>/ (upstream strips the archive's top folder). */
async function unpackDtbs(ctx: HandlerContext): Promise<string[]> {
  if (!ctx.flavor.dtbs) return [];
  const dir = join(ctx.workDir, 'dtb');
  await mkdir(dir, { recursive: true });
  await run('tar', ['-C', dir, '--strip-components=1', '-xzf', ctx.flavor.dtbs]);
  return listFiles(dir);
}

/** boot.scr: the script wrapped by mkimage (u-boot-tools), dated SOURCE_DATE_EPOCH so it is reproducible. */
async function makeBootScript(ctx: HandlerContext, script: string): Promise<string> {
  if (!(await hasCommand('mkimage'))) throw new UserError("'mkimage' is needed for a u-boot boot script (UBOOT_TYPE bootscript); install it (Debian: apt-get install u-boot-tools)");
  const cmd = join(ctx.workDir, 'boot.cmd');
  const scr = join(ctx.workDir, 'boot.scr');
  await writeFile(cmd, script);
  await run('mkimage', ['-A', 'arm64', '-O', 'linux', '-T', 'script', '-C', 'none', '-n', 'Tinkerbell Hook', '-d', cmd, scr], {
    env: { ...ctx.env, SOURCE_DATE_EPOCH: String(setting(ctx.env, 'SOURCE_DATE_EPOCH') ?? 0) },
  });
  return scr;
}

/** The three Armbian u-boot handlers, by HANDLER name; `options` replace the registry client in tests. */
export function armbianUbootHandlers(options: ArmbianUbootOptions = {}): Record<UbootHandler, BootableHandler> {
  return {
    armbian_uboot_amlogic: makeHandler('armbian_uboot_amlogic', options),
    armbian_uboot_rockchip: makeHandler('armbian_uboot_rockchip', options),
    armbian_uboot_rockchip_vendor: makeHandler('armbian_uboot_rockchip_vendor', options),
  };
}
