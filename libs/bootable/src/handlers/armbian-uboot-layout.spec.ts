/** Unit tests: each SoC family's u-boot offsets, extlinux.conf, boot.cmd, Armbian's metadata and tags, the kernel u-boot can start. */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { useTempDir } from '@hook/testing';
import { bootCmd, extlinuxConf, ubootDiskLayout, UBOOT_PARTITION_START, writeBootableKernel } from './armbian-uboot-layout';
import { latestUbootTag, parseUbootMetadata } from './armbian-uboot-fetch';
import { ubootConsoles } from './armbian-uboot';

const MIB = 1024 * 1024;

describe('u-boot disk layouts', () => {
  it('Rockchip: u-boot-rockchip.bin at 32 KiB (sector 64), GPT, partition at 16 MiB', () => {
    expect(ubootDiskLayout('armbian_uboot_rockchip', ['u-boot-rockchip.bin', 'u-boot-metadata.sh'], { 'u-boot-rockchip.bin': 9 * MIB })).toEqual({
      table: 'gpt',
      partitionStart: 16 * MIB,
      writes: [{ file: 'u-boot-rockchip.bin', offset: 64 * 512 }],
    });
  });

  it('Rockchip: idbloader.img at sector 64 and u-boot.itb at sector 16384 when there is no single binary', () => {
    const layout = ubootDiskLayout('armbian_uboot_rockchip_vendor', ['idbloader.img', 'u-boot.itb'], { 'idbloader.img': 200_000, 'u-boot.itb': 1_500_000 });
    expect(layout.writes).toEqual([
      { file: 'idbloader.img', offset: 32768 },
      { file: 'u-boot.itb', offset: 16384 * 512 },
    ]);
    expect(layout.table).toBe('gpt');
  });

  it('Rockchip: the legacy rk3399 trio, and MBR when Armbian\'s metadata asks for msdos', () => {
    const files = ['idbloader.bin', 'trust.bin', 'uboot.img'];
    const layout = ubootDiskLayout('armbian_uboot_rockchip', files, { 'idbloader.bin': 1000, 'trust.bin': 1000, 'uboot.img': 1000 }, { UBOOT_PARTITION_TYPE: 'msdos' });
    expect(layout.writes.map((w) => [w.file, w.offset / 512])).toEqual([
      ['idbloader.bin', 64],
      ['uboot.img', 16384],
      ['trust.bin', 24576],
    ]);
    expect(layout.table).toBe('mbr');
  });

  it('Amlogic: 442 bytes at sector 0 (the MBR table at 446 stays), the rest from sector 1; always MBR', () => {
    const layout = ubootDiskLayout('armbian_uboot_amlogic', ['u-boot.bin', 'u-boot.bin.sd.bin'], { 'u-boot.bin.sd.bin': MIB }, { UBOOT_PARTITION_TYPE: 'gpt' });
    expect(layout).toEqual({
      table: 'mbr',
      partitionStart: UBOOT_PARTITION_START,
      writes: [
        { file: 'u-boot.bin.sd.bin', offset: 0, length: 442 },
        { file: 'u-boot.bin.sd.bin', offset: 512, skip: 512 },
      ],
    });
  });

  it('refuses a package without the family\'s files, and a u-boot that would run into the partition, naming the files', () => {
    expect(() => ubootDiskLayout('armbian_uboot_rockchip', ['u-boot.bin'], { 'u-boot.bin': 1 })).toThrow(
      /^the Rockchip u-boot package has none of u-boot-rockchip\.bin, or idbloader\.img \+ u-boot\.itb.*\(it has: u-boot\.bin\)$/,
    );
    expect(() => ubootDiskLayout('armbian_uboot_amlogic', ['idbloader.img'], { 'idbloader.img': 1 })).toThrow(/Amlogic u-boot package has no u-boot\.bin\.sd\.bin or u-boot\.bin/);
    expect(() => ubootDiskLayout('armbian_uboot_rockchip', ['u-boot-rockchip.bin'], { 'u-boot-rockchip.bin': 16 * MIB })).toThrow(
      /u-boot file u-boot-rockchip\.bin \(16777216 bytes at byte 32768\) would overwrite the partition at 16 MiB/,
    );
  });
});

describe('what u-boot reads from the partition', () => {
  it('extlinux.conf: one default label with kernel, initrd, fdt (or fdtdir) and the command line', () => {
    expect(extlinuxConf({ kernel: '/vmlinuz', initrd: '/initramfs', fdt: '/dtb/rockchip/rk3568-odroid-m1.dtb', append: 'console=ttyS2,1500000 x=1' })).toBe(
      'DEFAULT hook\nTIMEOUT 1\nLABEL hook\n  kernel /vmlinuz\n  initrd /initramfs\n  fdt /dtb/rockchip/rk3568-odroid-m1.dtb\n  append console=ttyS2,1500000 x=1\n',
    );
    expect(extlinuxConf({ kernel: '/vmlinuz', initrd: '/initramfs', fdtdir: '/dtb/', append: 'a' })).toContain('  fdtdir /dtb/\n');
  });

  it('boot.cmd loads the initrd last (booti takes its ${filesize}) and quotes the command line', () => {
    const script = bootCmd({ kernel: '/vmlinuz', initrd: '/initramfs', fdt: '/dtb/amlogic/x.dtb', append: 'tink_worker_image=a "b" $c' });
    const lines = script.trim().split('\n');
    expect(lines).toContain('setenv bootargs "tink_worker_image=a \\"b\\" \\$c"');
    expect(lines.indexOf('load ${devtype} ${devnum}:${distro_bootpart} ${ramdisk_addr_r} /initramfs')).toBe(lines.length - 2);
    expect(lines[lines.length - 1]).toBe('booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}');
  });
});

describe('Armbian u-boot artifacts', () => {
  it('takes the newest u-boot version tag, ignoring other tags', () => {
    expect(latestUbootTag(['latest', '2024.01-S866c-P2a3a-H8869', '2024.10-S1234-P0000', '2017.09-Sffff', '2024.07-Sabcd'])).toBe('2024.10-S1234-P0000');
    expect(latestUbootTag(['latest', 'v1'])).toBeUndefined();
  });

  it('reads u-boot-metadata.sh as plain assignments, never running it', () => {
    const text = [
      '# generated',
      'declare -g UBOOT_PARTITION_TYPE="gpt"',
      "UBOOT_KERNEL_DTB='rockchip/rk3568-odroid-m1.dtb'",
      'export UBOOT_KERNEL_SERIALCON="ttyS2"',
      'UBOOT_EXTLINUX_CMDLINE="rootwait \\"quoted\\" $(rm -rf /)"',
      'UBOOT_EXTLINUX_PREFER=yes # comment',
    ].join('\n');
    expect(parseUbootMetadata(text)).toEqual({
      UBOOT_PARTITION_TYPE: 'gpt',
      UBOOT_KERNEL_DTB: 'rockchip/rk3568-odroid-m1.dtb',
      UBOOT_KERNEL_SERIALCON: 'ttyS2',
      UBOOT_EXTLINUX_CMDLINE: 'rootwait "quoted" $(rm -rf /)',
      UBOOT_EXTLINUX_PREFER: 'yes',
    });
  });
});

describe('the kernel u-boot starts', () => {
  const dir = useTempDir('hook-uboot-kernel-');

  const arm64Image = () => {
    const image = Buffer.alloc(4096);
    image.write('ARMd', 0x38, 'latin1');
    return image;
  };

  it('unpacks a gzip kernel (booti cannot without kernel_comp_addr_r) and copies a plain Image', async () => {
    await writeFile(join(dir.path, 'gz'), gzipSync(arm64Image()));
    await writeFile(join(dir.path, 'plain'), arm64Image());
    expect(await writeBootableKernel(join(dir.path, 'gz'), join(dir.path, 'out1'))).toBe('gunzipped');
    expect(await writeBootableKernel(join(dir.path, 'plain'), join(dir.path, 'out2'))).toBe('copied');
    for (const out of ['out1', 'out2']) expect((await readFile(join(dir.path, out))).equals(arm64Image())).toBe(true);
  });

  it('refuses an EFI zboot kernel with one line', async () => {
    const zboot = Buffer.alloc(64);
    zboot.write('MZ', 0, 'latin1');
    zboot.write('zimg', 4, 'latin1');
    await writeFile(join(dir.path, 'zboot'), zboot);
    await expect(writeBootableKernel(join(dir.path, 'zboot'), join(dir.path, 'out'))).rejects.toThrow(/is an EFI zboot image, which u-boot's booti cannot start/);
  });
});

describe('the console of a u-boot board', () => {
  it("takes Armbian's SERIALCON (rate after a colon, several consoles), else SERIAL_CONSOLE, else the family's UART, with CONSOLE_EXTRA_ARGS", () => {
    expect(ubootConsoles('armbian_uboot_rockchip', { UBOOT_KERNEL_SERIALCON: 'ttyS2:1500000' }, undefined, ',1500000')).toEqual(['ttyS2,1500000']);
    expect(ubootConsoles('armbian_uboot_rockchip', { UBOOT_KERNEL_SERIALCON: 'ttyS2,ttyGS0' }, undefined, ',1500000')).toEqual(['ttyS2,1500000', 'ttyGS0']);
    expect(ubootConsoles('armbian_uboot_amlogic', {}, undefined, ',115200')).toEqual(['ttyAML0,115200']);
    expect(ubootConsoles('armbian_uboot_rockchip_vendor', {}, 'ttyS9', undefined)).toEqual(['ttyS9']);
    expect(() => ubootConsoles('armbian_uboot_rockchip', { UBOOT_KERNEL_SERIALCON: 'ttyS2;reboot' })).toThrow(
      /^the serial console 'ttyS2;reboot' \(from the u-boot package's UBOOT_KERNEL_SERIALCON\) is not a kernel console/,
    );
  });
});
