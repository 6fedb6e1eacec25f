import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@hook/process';
import { writeDiskImage, type DiskLayout } from './disk-image';

const MIB = 1024 * 1024;
const EPOCH = 1492533000;
const mtoolsEnv = { MTOOLS_SKIP_CHECK: '1' };

jest.setTimeout(60_000);

describe('writeDiskImage (integration: sfdisk, mtools)', () => {
  let dir: string;
  let kernel: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hook-bootable-spec-'));
    kernel = join(dir, 'vmlinuz-test');
    await writeFile(kernel, Buffer.alloc(3 * MIB, 7));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const gptLayout = (): DiskLayout => ({
    table: 'gpt',
    partitionStart: 16 * MIB,
    esp: true,
    volumeLabel: 'HOOK',
    files: [
      { path: 'vmlinuz', source: kernel },
      { path: 'EFI/BOOT/grub.cfg', content: 'set timeout=0\n' },
      { path: 'dtb/rockchip/rk3588-test.dtb', content: Buffer.from([0xd0, 0x0d, 0xfe, 0xed]) },
    ],
    raw: [{ what: 'boot loader', offset: 64 * 512, content: Buffer.from('UBOOT-AT-SECTOR-64') }],
  });

  it('writes a GPT with one EFI System partition where the layout says, the files on FAT32 and the raw bytes, reproducibly', async () => {
    const image = join(dir, 'gpt.img');
    const result = await writeDiskImage(gptLayout(), image, { sourceDateEpoch: EPOCH });
    const table = JSON.parse((await run('sfdisk', ['--json', image])).stdout).partitiontable;
    expect(table.label).toBe('gpt');
    expect(table.partitions).toHaveLength(1);
    expect(table.partitions[0].start).toBe((16 * MIB) / 512);
    expect(table.partitions[0].type).toBe('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
    expect(table.partitions[0].size * 512).toBe(result.partitionBytes);

    const fat = `${image}@@${16 * MIB}`;
    const info = (await run('minfo', ['-i', fat, '::'], { env: mtoolsEnv })).stdout;
    expect(info).toMatch(/disk type="FAT32   "/);
    expect((await run('mtype', ['-i', fat, '::/EFI/BOOT/grub.cfg'], { env: mtoolsEnv })).stdout).toBe('set timeout=0');
    const listing = (await run('mdir', ['-i', fat, '-/', '-b', '::/'], { env: mtoolsEnv })).stdout;
    expect(listing.split('\n').map((l) => l.trim()).sort()).toEqual(
      expect.arrayContaining(['::/vmlinuz', '::/EFI/BOOT/grub.cfg', '::/dtb/rockchip/rk3588-test.dtb']),
    );
    const copied = join(dir, 'vmlinuz.back');
    await run('mcopy', ['-i', fat, '::/vmlinuz', copied], { env: mtoolsEnv });
    expect(await readFile(copied)).toEqual(await readFile(kernel));

    const bytes = await readFile(image);
    expect(bytes.subarray(64 * 512, 64 * 512 + 18).toString()).toBe('UBOOT-AT-SECTOR-64');

    // Same layout and epoch: the same bytes (GUIDs and serial derive from the content).
    const again = join(dir, 'gpt-again.img');
    await writeDiskImage(gptLayout(), again, { sourceDateEpoch: EPOCH });
    const sha = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');
    expect(await sha(again)).toBe(await sha(image));
    // Other content: other disk GUID.
    const other = join(dir, 'gpt-other.img');
    const changed = gptLayout();
    changed.files[1] = { path: 'EFI/BOOT/grub.cfg', content: 'set timeout=1\n' };
    const otherResult = await writeDiskImage(changed, other, { sourceDateEpoch: EPOCH });
    expect(otherResult.diskId).not.toBe(result.diskId);
    // Nothing but the images is left in the folder (no temp names).
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('writes an MBR with an active FAT32 LBA partition and keeps the boot code area for a raw write', async () => {
    const image = join(dir, 'mbr.img');
    const layout: DiskLayout = {
      table: 'mbr',
      partitionStart: 16 * MIB,
      esp: false,
      active: true,
      volumeLabel: 'HOOK',
      files: [{ path: 'extlinux/extlinux.conf', content: 'label hook\n' }],
      raw: [
        { what: 'u-boot head', offset: 0, content: Buffer.alloc(442, 0xaa) },
        { what: 'u-boot tail', offset: 512, content: Buffer.alloc(4096, 0xbb) },
      ],
    };
    await writeDiskImage(layout, image, { sourceDateEpoch: EPOCH });
    const table = JSON.parse((await run('sfdisk', ['--json', image])).stdout).partitiontable;
    expect(table.label).toBe('dos');
    expect(table.partitions[0]).toMatchObject({ start: (16 * MIB) / 512, type: 'c', bootable: true });
    const bytes = await readFile(image);
    expect(bytes.subarray(0, 442).every((b) => b === 0xaa)).toBe(true);
    expect(bytes.readUInt16LE(510)).toBe(0xaa55);
  });

  it('refuses a raw write over the partition table or into the partition, writing nothing', async () => {
    const image = join(dir, 'bad.img');
    const overTable = { ...gptLayout(), raw: [{ what: 'too early', offset: 1024, content: Buffer.alloc(512) }] };
    await expect(writeDiskImage(overTable, image, { sourceDateEpoch: EPOCH })).rejects.toThrow(/overlaps the gpt partition table/);
    const intoPartition = { ...gptLayout(), raw: [{ what: 'too long', offset: 16 * MIB - 100, content: Buffer.alloc(512) }] };
    await expect(writeDiskImage(intoPartition, image, { sourceDateEpoch: EPOCH })).rejects.toThrow(/runs into the partition/);
    await expect(readFile(image)).rejects.toThrow(/ENOENT/);
  });
});
