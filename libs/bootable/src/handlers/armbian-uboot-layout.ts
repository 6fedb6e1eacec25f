/**
 * Where each SoC family's boot ROM looks for u-boot on an SD card or eMMC, and what u-boot then
 * reads from the FAT partition (extlinux.conf or boot.scr). Facts, as Armbian's platform_install.sh
 * writes them:
 * - Rockchip (mainline and vendor): `u-boot-rockchip.bin` at sector 64 (32 KiB), or the pair
 *   `idbloader.img` at sector 64 and `u-boot.itb` at sector 16384 (8 MiB); older rk3399 packages:
 *   `idbloader.bin` at 64, `uboot.img` at 16384, `trust.bin` at 24576. GPT fits in front (it ends
 *   at sector 34).
 * - Amlogic: `u-boot.bin.sd.bin` (or `u-boot.bin`): its first 442 bytes at sector 0 (the boot
 *   code area; bytes 442..511 keep the end of the disk id, the MBR's partition table at 446 and
 *   the 0x55AA signature), the rest from sector 1, as Armbian's and Hardkernel's writers do. So
 *   the table must be MBR: a GPT header at sector 1 would be overwritten.
 * The FAT partition starts at 16 MiB, after every family's u-boot region.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { UserError } from '@hook/log';

export type UbootHandler = 'armbian_uboot_amlogic' | 'armbian_uboot_rockchip' | 'armbian_uboot_rockchip_vendor';

export const SECTOR = 512;
export const UBOOT_PARTITION_START = 16 * 1024 * 1024;
/** What an Amlogic u-boot puts into sector 0 (dd bs=1 count=442). */
export const AMLOGIC_HEAD_BYTES = 442;

/** One raw write of (part of) a u-boot file onto the disk, outside the partition. */
export interface RawWrite {
  /** File name in the u-boot package's binaries folder. */
  file: string;
  /** Byte offset on the disk. */
  offset: number;
  /** Bytes of the file to skip first (default 0). */
  skip?: number;
  /** Bytes to write (default: the rest of the file). */
  length?: number;
}

export interface UbootDiskLayout {
  table: 'mbr' | 'gpt';
  /** Byte offset of the FAT partition. */
  partitionStart: number;
  writes: RawWrite[];
}

const ROCKCHIP_SETS: { files: string[]; sectors: number[] }[] = [
  { files: ['u-boot-rockchip.bin'], sectors: [64] },
  { files: ['idbloader.img', 'u-boot.itb'], sectors: [64, 16384] },
  { files: ['idbloader.bin', 'uboot.img', 'trust.bin'], sectors: [64, 16384, 24576] },
];

/**
 * The disk layout for a family, given the file names its u-boot package has, and the sizes of
 * those files (to refuse a u-boot that would run into the partition).
 */
export function ubootDiskLayout(handler: UbootHandler, files: string[], sizes: Record<string, number>, metadata: Record<string, string> = {}): UbootDiskLayout {
  const has = (name: string) => files.includes(name);
  let layout: UbootDiskLayout;
  if (handler === 'armbian_uboot_amlogic') {
    const file = ['u-boot.bin.sd.bin', 'u-boot.bin'].find(has);
    if (!file) throw new UserError(`the Amlogic u-boot package has no u-boot.bin.sd.bin or u-boot.bin (it has: ${files.join(', ') || 'nothing'})`);
    layout = {
      table: 'mbr',
      partitionStart: UBOOT_PARTITION_START,
      writes: [
        { file, offset: 0, length: AMLOGIC_HEAD_BYTES },
        { file, offset: SECTOR, skip: SECTOR },
      ],
    };
  } else {
    const set = ROCKCHIP_SETS.find((s) => s.files.every(has));
    if (!set) {
      const wanted = ROCKCHIP_SETS.map((s) => s.files.join(' + ')).join(', or ');
      throw new UserError(`the Rockchip u-boot package has none of ${wanted} (it has: ${files.join(', ') || 'nothing'})`);
    }
    // Upstream writes Rockchip media with GPT; Armbian's metadata may ask for MBR (msdos).
    const table = /^(msdos|mbr|dos)$/i.test(metadata.UBOOT_PARTITION_TYPE ?? '') ? 'mbr' : 'gpt';
    layout = { table, partitionStart: UBOOT_PARTITION_START, writes: set.files.map((file, i) => ({ file, offset: set.sectors[i] * SECTOR })) };
  }
  for (const write of layout.writes) {
    const size = sizes[write.file];
    if (size === undefined) throw new Error(`no size for ${write.file}`);
    const length = write.length ?? size - (write.skip ?? 0);
    if (write.offset + length > layout.partitionStart) {
      throw new UserError(`u-boot file ${write.file} (${size} bytes at byte ${write.offset}) would overwrite the partition at ${layout.partitionStart / 1024 / 1024} MiB; is it the right package for this board?`);
    }
  }
  return layout;
}

export interface ExtlinuxOptions {
  kernel: string;
  initrd: string;
  append: string;
  /** A DTB file on the partition (`fdt`); else `fdtdir` points u-boot at the DTB folder. */
  fdt?: string;
  fdtdir?: string;
}

/** /extlinux/extlinux.conf as u-boot's distro boot (pxe_utils) reads it. */
export function extlinuxConf(options: ExtlinuxOptions): string {
  const lines = ['DEFAULT hook', 'TIMEOUT 1', 'LABEL hook', `  kernel ${options.kernel}`, `  initrd ${options.initrd}`];
  if (options.fdt) lines.push(`  fdt ${options.fdt}`);
  else if (options.fdtdir) lines.push(`  fdtdir ${options.fdtdir}`);
  lines.push(`  append ${options.append}`);
  return `${lines.join('\n')}\n`;
}

/**
 * boot.cmd for UBOOT_TYPE bootscript (u-boot runs /boot.scr, this text wrapped by mkimage):
 * loads the kernel, initrd and DTB from the partition u-boot found the script on and boots them.
 */
export function bootCmd(options: { kernel: string; initrd: string; fdt?: string; append: string }): string {
  const load = (variable: string, file: string) => `load \${devtype} \${devnum}:\${distro_bootpart} \${${variable}} ${file}`;
  return [
    '# Tinkerbell Hook: u-boot boot script (boot.scr is this file wrapped by mkimage -T script)',
    'test -n "${distro_bootpart}" || setenv distro_bootpart 1',
    `setenv bootargs "${options.append.replace(/(["\\$])/g, '\\$1')}"`,
    load('kernel_addr_r', options.kernel),
    ...(options.fdt ? [load('fdt_addr_r', options.fdt), 'fdt addr ${fdt_addr_r}', 'fdt resize 65536'] : []),
    // The initrd loads last: booti takes it as addr:size, and load sets ${filesize}.
    load('ramdisk_addr_r', options.initrd),
    `booti \${kernel_addr_r} \${ramdisk_addr_r}:\${filesize} ${options.fdt ? '${fdt_addr_r}' : '${fdtcontroladdr}'}`,
    '',
  ].join('\n');
}

/**
 * The kernel as u-boot's booti (and the Raspberry Pi firmware) can start it: an arm64 Image.
 * A gzip-compressed kernel is unpacked here, because booti only unpacks it when the board's
 * environment sets kernel_comp_addr_r and kernel_comp_size, which most boards (and QEMU's
 * u-boot) do not. Debian's and Armbian's arm64 kernels are already plain Images. An EFI zboot
 * kernel (a PE file with a compressed payload) is only bootable through UEFI.
 */
export async function writeBootableKernel(source: string, destination: string): Promise<'copied' | 'gunzipped'> {
  const head = Buffer.alloc(8);
  const handle = await open(source, 'r').catch(() => {
    throw new UserError(`kernel ${source} not found; build the flavor first`);
  });
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    await pipeline(createReadStream(source), createGunzip(), createWriteStream(destination));
    return 'gunzipped';
  }
  if (head.toString('latin1', 0, 2) === 'MZ' && head.toString('latin1', 4, 8) === 'zimg') {
    throw new UserError(`kernel ${source} is an EFI zboot image, which u-boot's booti cannot start; use a kernel built without CONFIG_EFI_ZBOOT, or a GRUB bootable`);
  }
  await copyFile(source, destination);
  return 'copied';
}
