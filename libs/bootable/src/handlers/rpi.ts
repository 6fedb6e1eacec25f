/**
 * HANDLER rpi_firmware: a Raspberry Pi SD card. The Pi's boot ROM/EEPROM reads only an MBR and a
 * FAT partition; there it loads the GPU firmware (Pi 4: start4.elf + fixup4.dat; Pi 3 and older:
 * bootcode.bin, start.elf, fixup.dat), which reads config.txt, the board's DTB from the
 * partition's root, overlays from overlays/, then the kernel and initramfs config.txt names,
 * passing cmdline.txt as the kernel command line.
 * The firmware comes from Debian's raspi-firmware package (component non-free-firmware), apt-
 * verified from the host's mirror (RPI_FIRMWARE_SUITE, default trixie; RPI_FIRMWARE_VERSION pins it).
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError, log } from '@hook/log';
import { unpackedPackage } from '@hook/debian';
import { cacheDir } from '@hook/layout';
import { run } from '@hook/process';
import { kernelCommandLine } from '../cmdline';
import type { FatFile } from '../disk-image';
import type { BootableHandler, HandlerContext } from '../handler';
import { listFiles } from '../files';
import { writeBootableKernel } from './armbian-uboot-layout';
import { setting } from '@hook/settings';

export const RPI_FIRMWARE_PACKAGE = 'raspi-firmware';
const FIRMWARE_DIR = 'usr/lib/raspi-firmware';
/** What the firmware needs on every Pi this image supports (Pi 4 and the older boot chain). */
export const RPI_REQUIRED_FIRMWARE = ['start4.elf', 'fixup4.dat', 'bootcode.bin', 'start.elf', 'fixup.dat'];
/** The names config.txt gives the kernel and initramfs on the partition. */
export const RPI_KERNEL = 'vmlinuz';
export const RPI_INITRAMFS = 'initrd.img';
/** Overlays config.txt asks for when the flavor ships them (serial console on the GPIO UART, KMS). */
const WANTED_OVERLAYS = ['disable-bt', 'vc4-kms-v3d'];

export interface RaspiFirmware {
  version: string;
  /** Folder holding the firmware files (start4.elf, fixup4.dat, ...). */
  dir: string;
  /** Paths in dir ('/'-separated): the firmware files, overlays/... */
  files: string[];
}

/** Downloads raspi-firmware (arch all) through apt with the non-free-firmware component, unpacked once per version. */
export async function fetchRaspiFirmware(options: { workspaceRoot: string; env: NodeJS.ProcessEnv }): Promise<RaspiFirmware> {
  const { workspaceRoot, env } = options;
  const suite = setting(env, 'RPI_FIRMWARE_SUITE');
  const pkg = await unpackedPackage({
    cacheDir: cacheDir(workspaceRoot, env, 'debian'),
    suite,
    debArch: 'arm64',
    name: RPI_FIRMWARE_PACKAGE,
    version: setting(env, 'RPI_FIRMWARE_VERSION'),
    keep: [`${FIRMWARE_DIR}/`],
    components: ['main', 'non-free-firmware'],
    env,
  });
  const dir = join(pkg.dir, FIRMWARE_DIR);
  // Newer packages also carry a few overlays (overlays/*.dtbo).
  const files = await listFiles(dir);
  const missing = RPI_REQUIRED_FIRMWARE.filter((f) => !files.includes(f));
  if (missing.length) throw new UserError(`${RPI_FIRMWARE_PACKAGE} ${pkg.version} lacks ${missing.join(', ')}; pick another RPI_FIRMWARE_VERSION`);
  log.info(`Raspberry Pi firmware: Debian ${RPI_FIRMWARE_PACKAGE} ${pkg.version} (${suite})`);
  return { version: pkg.version, dir, files };
}

/**
 * config.txt: 64-bit kernel, the kernel and initramfs by name, the UART on for the serial console
 * (with Bluetooth moved off the PL011 so ttyAMA0 is the GPIO UART), overlays the flavor has.
 */
export function rpiConfigTxt(overlays: string[]): string {
  const wanted = WANTED_OVERLAYS.filter((o) => overlays.includes(o));
  return [
    '# Tinkerbell Hook: Raspberry Pi firmware settings (https://www.raspberrypi.com/documentation/computers/config_txt.html)',
    'arm_64bit=1',
    `kernel=${RPI_KERNEL}`,
    `initramfs ${RPI_INITRAMFS} followkernel`,
    // The kernel's console on the GPIO UART; the firmware also logs there.
    'enable_uart=1',
    'uart_2ndstage=1',
    ...wanted.map((o) => `dtoverlay=${o}`),
    'disable_overscan=1',
    'arm_boost=1',
    '[cm4]',
    'otg_mode=1',
    '[all]',
    '',
  ].join('\n');
}

/** cmdline.txt is one line; the firmware passes it to the kernel as is. */
export function rpiCmdlineTxt(cmdline: string): string {
  return `${cmdline.replace(/\s+/g, ' ').trim()}\n`;
}

/**
 * The flavor's DTBs as the firmware wants them: the Broadcom board DTBs at the partition's root,
 * overlays (Armbian: overlay/, the Raspberry Pi tree: overlays/) in overlays/.
 * Returns partition path -> source path.
 */
export async function rpiDtbFiles(dtbsDir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const list = (dir: string) => readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const sub of ['broadcom', '.']) {
    for (const entry of await list(join(dtbsDir, sub))) {
      if (entry.isFile() && entry.name.endsWith('.dtb') && !files.has(entry.name)) files.set(entry.name, join(dtbsDir, sub, entry.name));
    }
  }
  for (const sub of ['overlays', 'overlay', 'broadcom/overlays', 'broadcom/overlay']) {
    for (const entry of await list(join(dtbsDir, sub))) {
      if (entry.isFile()) files.set(`overlays/${entry.name}`, join(dtbsDir, sub, entry.name));
    }
  }
  return files;
}

/** Overlay names (without .dtbo) among the partition paths. */
export function overlayNames(paths: Iterable<string>): string[] {
  return [...paths].filter((p) => p.startsWith('overlays/') && p.endsWith('.dtbo')).map((p) => p.slice('overlays/'.length, -'.dtbo'.length));
}

/** Where the FAT partition starts (as Raspberry Pi OS images: 4 MiB). */
export const RPI_PARTITION_START = 4 * 1024 * 1024;
/** Upstream's extra kernel parameters for the Pi (cgroups the firmware's default DT leaves off). */
const RPI_KERNEL_ARGS = ['loglevel=7', 'cgroup_enable=cpuset', 'cgroup_memory=1', 'cgroup_enable=memory'];

export const rpiHandler: BootableHandler = {
  handler: 'rpi_firmware',
  async layout(ctx: HandlerContext) {
    const { flavor, bootable } = ctx;
    if (!flavor.dtbs) {
      throw new UserError(`bootable ${bootable.ID} needs the Raspberry Pi device trees, but flavor ${flavor.flavorId} has none (no dtbs-${flavor.outputId}.tar.gz); use an arm64 flavor with a Raspberry Pi kernel (armbian-bcm2711-current)`);
    }
    const dtbsDir = join(ctx.workDir, 'dtbs');
    await mkdir(dtbsDir, { recursive: true });
    // Upstream strips the archive's top folder (dtbs-<OUTPUT_ID>/).
    await run('tar', ['-C', dtbsDir, '--strip-components=1', '-xzf', flavor.dtbs]);
    const dtbs = await rpiDtbFiles(dtbsDir);
    const boardDtbs = [...dtbs.keys()].filter((p) => /^bcm27\d\d-rpi-.*\.dtb$/.test(p));
    if (boardDtbs.length === 0) {
      throw new UserError(`flavor ${flavor.flavorId} has no Raspberry Pi device tree (bcm27xx-rpi-*.dtb) in dtbs-${flavor.outputId}.tar.gz; use a Raspberry Pi kernel (armbian-bcm2711-current)`);
    }
    const firmware = await fetchRaspiFirmware({ workspaceRoot: ctx.workspaceRoot, env: ctx.env });

    const kernel = join(ctx.workDir, RPI_KERNEL);
    await writeBootableKernel(flavor.kernel, kernel);
    const console = `${bootable.SERIAL_CONSOLE ?? 'ttyAMA0'}${bootable.CONSOLE_EXTRA_ARGS ?? ',115200'}`;
    const cmdline = kernelCommandLine(ctx.tink, ['tty1', console], RPI_KERNEL_ARGS);
    // The flavor's overlays win over the firmware package's of the same name: they match its kernel.
    const onPartition = new Map(firmware.files.map((name) => [name, join(firmware.dir, name)]));
    for (const [path, source] of dtbs) onPartition.set(path, source);
    const files: FatFile[] = [
      ...[...onPartition].map(([path, source]) => ({ path, source })),
      { path: RPI_KERNEL, source: kernel },
      { path: RPI_INITRAMFS, source: flavor.initramfs },
      { path: 'config.txt', content: rpiConfigTxt(overlayNames(onPartition.keys())) },
      { path: 'cmdline.txt', content: rpiCmdlineTxt(cmdline) },
    ];
    log.info(`${bootable.ID}: raspi-firmware ${firmware.version}, ${boardDtbs.length} board device trees, ${overlayNames(onPartition.keys()).length} overlays`);
    // The boot ROM reads only an MBR and a FAT partition (type 0x0c).
    const packages = [{ name: RPI_FIRMWARE_PACKAGE, version: firmware.version, architecture: 'all' }];
    return { table: 'mbr', partitionStart: RPI_PARTITION_START, esp: false, active: true, volumeLabel: 'HOOK', files, raw: [], packages };
  },
};
