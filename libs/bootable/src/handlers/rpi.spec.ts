/** Unit tests: config.txt, cmdline.txt and where the flavor's device trees go on a Raspberry Pi medium. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import { overlayNames, rpiCmdlineTxt, rpiConfigTxt, rpiDtbFiles } from './rpi';

describe('Raspberry Pi files', () => {
  const dir = useTempDir('hook-rpi-unit-');

  it('config.txt: 64-bit, the kernel and initramfs by name, the UART, and only overlays that exist', () => {
    const text = rpiConfigTxt(['disable-bt', 'hifiberry-dac']);
    const lines = text.split('\n');
    expect(lines).toEqual(expect.arrayContaining(['arm_64bit=1', 'kernel=vmlinuz', 'initramfs initrd.img followkernel', 'enable_uart=1', 'dtoverlay=disable-bt']));
    expect(text).not.toContain('vc4-kms-v3d');
    expect(text).not.toContain('hifiberry');
    // Conditional sections end with [all], so later lines (none today) apply to every Pi.
    expect(lines.filter((l) => l.startsWith('[')).pop()).toBe('[all]');
  });

  it('cmdline.txt is exactly one line', () => {
    expect(rpiCmdlineTxt(' console=tty1\n  a=b ')).toBe('console=tty1 a=b\n');
  });

  it('board DTBs go to the root and overlays (Armbian: overlay/) to overlays/', async () => {
    for (const path of ['broadcom/bcm2711-rpi-4-b.dtb', 'broadcom/bcm2712-rpi-5-b.dtb', 'overlay/disable-bt.dtbo', 'overlay/README', 'rockchip/x.dtb']) {
      await mkdir(join(dir.path, path, '..'), { recursive: true });
      await writeFile(join(dir.path, path), path);
    }
    const files = await rpiDtbFiles(dir.path);
    expect([...files.keys()].sort()).toEqual(['bcm2711-rpi-4-b.dtb', 'bcm2712-rpi-5-b.dtb', 'overlays/README', 'overlays/disable-bt.dtbo']);
    expect(files.get('bcm2711-rpi-4-b.dtb')).toBe(join(dir.path, 'broadcom', 'bcm2711-rpi-4-b.dtb'));
    expect(overlayNames(files.keys())).toEqual(['disable-bt']);
  });
});
