/**
 * The GRUB handler with the real grub-mkimage: amd64 from the host's modules, arm64 from
 * Debian's grub-efi-arm64-bin (downloaded from the host's mirror into cache/debian once when
 * the host has no arm64 modules), and the device trees of a DTB bootable.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { run } from '@hook/process';
import type { Bootable } from '@hook/inventory';
import { tinkSettings } from '../cmdline';
import type { FatFile } from '../disk-image';
import type { HandlerContext } from '../handler';
import { GRUB_MEDIUM_MARKER, grubHandler } from './grub';

jest.setTimeout(300_000);

const WORKSPACE = join(__dirname, '../../../..');

describe('grub handler (integration: grub-mkimage)', () => {
  let dir: string;
  let kernel: string;
  let initramfs: string;
  let dtbs: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hook-grub-handler-'));
    kernel = join(dir, 'vmlinuz-x');
    initramfs = join(dir, 'initramfs-x');
    await writeFile(kernel, 'kernel');
    await writeFile(initramfs, 'initramfs');
    // A dtbs tarball as the kernel step packs it: one top folder, vendor folders below.
    await run('sh', ['-c', 'mkdir -p "$1/dtbs/rockchip" "$1/dtbs/amlogic" && printf dtb > "$1/dtbs/rockchip/rk3588-rock-5b.dtb" && printf dtb > "$1/dtbs/amlogic/meson-sm1-odroid-hc4.dtb" && tar -C "$1" -czf "$1/dtbs.tar.gz" dtbs', 'sh', dir]);
    dtbs = join(dir, 'dtbs.tar.gz');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function layoutOf(arch: 'x86_64' | 'aarch64', bootable: Bootable, withDtbs: boolean) {
    const workDir = await mkdtemp(join(dir, 'work-'));
    const board = { id: `${bootable.ID}-generic`, opts: 'NOT=used' };
    const ctx: HandlerContext = {
      workspaceRoot: WORKSPACE,
      flavor: { flavorId: 'f', outputId: 'x', arch, kernel, initramfs, dtbs: withDtbs ? dtbs : undefined },
      bootable,
      board,
      tink: tinkSettings({ TINK_SERVER: '10.1.2.3' }, board.id),
      env: { ...process.env, SOURCE_DATE_EPOCH: '1492533000' },
      workDir,
    };
    return grubHandler.layout(ctx);
  }
  const byPath = (files: FatFile[]) => new Map(files.map((f) => [f.path, f]));

  it('lays out an amd64 EFI System partition: kernel, initrd, BOOTX64.EFI, grub.cfg with the command line, the marker', async () => {
    const layout = await layoutOf('x86_64', { ID: 'grub-t', HANDLER: 'grub', TAG: ['t'], SERIAL_CONSOLE: 'ttyS0' }, false);
    expect(layout).toMatchObject({ table: 'gpt', esp: true, partitionStart: 16 * 1024 * 1024, volumeLabel: 'HOOK', raw: [] });
    const files = byPath(layout.files);
    expect([...files.keys()].sort()).toEqual(['EFI/BOOT/BOOTX64.EFI', 'EFI/BOOT/grub.cfg', 'hookos-bootable.marker', 'initrd.img', 'vmlinuz']);
    expect(files.get('vmlinuz')?.source).toBe(kernel);
    expect(files.get('initrd.img')?.source).toBe(initramfs);
    expect(files.get('EFI/BOOT/grub.cfg')?.content).toContain(
      '  linux /vmlinuz console=ttyS0 worker_id=grub-t-generic tink_worker_image=ghcr.io/tinkerbell/tink-agent:latest grpc_authority=10.1.2.3:42113 tinkerbell_tls=false syslog_host=10.1.2.3\n',
    );
    const efi = await readFile(files.get('EFI/BOOT/BOOTX64.EFI')?.source as string);
    expect(efi.subarray(0, 2).toString()).toBe('MZ');
    // The embedded config finds the partition by the marker file.
    expect(efi.includes(Buffer.from(`search --no-floppy --set=root --file ${GRUB_MEDIUM_MARKER}`))).toBe(true);
  });

  it('lays out arm64 with BOOTAA64.EFI from arm64 modules and the device trees under dtb/ when the bootable says DTB', async () => {
    const layout = await layoutOf('aarch64', { ID: 'grub-a', HANDLER: 'grub', TAG: ['t'], SERIAL_CONSOLE: 'ttyAMA0', DTB: true }, true);
    const files = byPath(layout.files);
    expect(files.has('dtb/rockchip/rk3588-rock-5b.dtb')).toBe(true);
    expect(files.has('dtb/amlogic/meson-sm1-odroid-hc4.dtb')).toBe(true);
    expect(files.get('EFI/BOOT/grub.cfg')?.content).toContain("menuentry 'Tinkerbell Hook aarch64'");
    expect(files.get('EFI/BOOT/grub.cfg')?.content).toContain('linux /vmlinuz console=ttyAMA0 ');
    const efi = await readFile(files.get('EFI/BOOT/BOOTAA64.EFI')?.source as string);
    // PE header: 'PE\0\0' at e_lfanew, then the machine type 0xaa64 (arm64).
    const pe = efi.readUInt32LE(0x3c);
    expect(efi.subarray(pe, pe + 4).toString('latin1')).toBe('PE\0\0');
    expect(efi.readUInt16LE(pe + 4)).toBe(0xaa64);
  });

  it('says in one line that a DTB bootable needs a flavor with device trees', async () => {
    const attempt = layoutOf('aarch64', { ID: 'grub-a', HANDLER: 'grub', TAG: ['t'], DTB: true }, false);
    await expect(attempt).rejects.toThrow(UserError);
    await expect(layoutOf('aarch64', { ID: 'grub-a', HANDLER: 'grub', TAG: ['t'], DTB: true }, false)).rejects.toThrow('bootable grub-a wants device trees (DTB: true) but flavor f has none');
  });
});
