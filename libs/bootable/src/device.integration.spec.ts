/**
 * CARD_DEVICE against real block devices: a loop device (losetup, root) that is mounted and
 * then free, and device nodes (mknod, root) of disks that a fixture /sys and mountinfo
 * describe (a disk whose partition is mounted, a disk holding the system, a disk held by
 * device-mapper). Those nodes are only stat'ed, never opened. Partition scanning of loop
 * devices does not work on every host (no loopNp1 here), hence the fixtures for partitions.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@hook/process';
import { compressXz } from './media';
import { checkCardDevice, liveSystemView, writeImageToDevice, type SystemView } from './device';

jest.setTimeout(120_000);

const isRoot = process.getuid?.() === 0;

describe('CARD_DEVICE on block devices (integration: mknod, losetup, mount; root)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hook-card-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs as root (mknod and losetup need it)', () => {
    expect(isRoot).toBe(true);
  });

  describe('disks described by fixtures', () => {
    let view: SystemView;
    const node = async (name: string, major: number, minor: number) => {
      const path = join(dir, name);
      await run('mknod', [path, 'b', String(major), String(minor)]);
      return path;
    };
    /** A disk folder under the fixture /sys/devices with its partitions, linked from /sys/dev/block. */
    const disk = (name: string, id: string, partitions: string[], holders: string[] = []) => {
      const folder = join(dir, 'sys/devices', name);
      mkdirSync(join(folder, 'holders'), { recursive: true });
      writeFileSync(join(folder, 'dev'), `${id}\n`);
      for (const holder of holders) mkdirSync(join(folder, 'holders', holder));
      symlinkSync(folder, join(dir, 'sys/dev-block', id));
      partitions.forEach((partitionId, index) => {
        const partition = join(folder, `${name}${index + 1}`);
        mkdirSync(partition);
        writeFileSync(join(partition, 'dev'), `${partitionId}\n`);
        writeFileSync(join(partition, 'partition'), `${index + 1}\n`);
        symlinkSync(partition, join(dir, 'sys/dev-block', partitionId));
      });
    };
    beforeAll(() => {
      mkdirSync(join(dir, 'sys/dev-block'), { recursive: true });
      // Device numbers no real disk has here (sd* majors 8, 65; the host's disk is a virtio disk).
      disk('sdx', '65:16', ['65:17', '65:18']);
      disk('sdy', '65:32', ['65:33']);
      disk('sdz', '65:48', ['65:49'], ['dm-0']);
      disk('sdw', '65:64', ['65:65']);
      view = {
        mountInfo: ['1 0 65:33 / / rw - ext4 /dev/sdy1 rw', '2 1 65:18 / /media/card\\040two rw shared:1 - vfat /dev/sdx2 rw', ''].join('\n'),
        systemDevices: ['65:33'],
        sysDevBlock: join(dir, 'sys/dev-block'),
      };
    });

    it('refuses a disk one of whose partitions is mounted, naming it', async () => {
      expect(() => checkCardDevice(join(dir, 'sys/dev-block'), view)).toThrow('is a directory, not a block device');
      const card = await node('sdx', 65, 16);
      expect(() => checkCardDevice(card, view)).toThrow(`CARD_DEVICE ${card} is mounted (/dev/sdx2 on /media/card two); unmount it first (umount), then run again`);
    });

    it('refuses the disk holding the running system, and its partition', async () => {
      const system = await node('sdy', 65, 32);
      expect(() => checkCardDevice(system, view)).toThrow(`CARD_DEVICE ${system} holds the running system (/ or /boot is on it)`);
      const partition = await node('sdy1', 65, 33);
      expect(() => checkCardDevice(partition, view)).toThrow('holds the running system');
    });

    it('refuses a disk that device-mapper holds, and takes a free one', async () => {
      const held = await node('sdz', 65, 48);
      expect(() => checkCardDevice(held, view)).toThrow(`CARD_DEVICE ${held} is in use by dm-0 (device-mapper, LVM or RAID)`);
      const free = await node('sdw', 65, 64);
      expect(checkCardDevice(free, view)).toBe(free);
    });
  });

  describe('a loop device', () => {
    let loop: string | undefined;
    let mountPoint: string;
    afterAll(async () => {
      if (mountPoint) await run('umount', [mountPoint], { allowFailure: true });
      if (loop) await run('losetup', ['-d', loop], { allowFailure: true });
    });

    it('is refused while mounted, and receives the image byte for byte once free (this machine\'s own /sys and mountinfo)', async () => {
      const backing = join(dir, 'card.img');
      await run('truncate', ['-s', '48M', backing]);
      loop = (await run('losetup', ['--find', '--show', backing])).stdout.trim();
      await run('mkfs.ext4', ['-q', loop]);
      mountPoint = join(dir, 'mnt');
      mkdirSync(mountPoint);
      await run('mount', [loop, mountPoint]);
      expect(() => checkCardDevice(loop as string, liveSystemView())).toThrow(`CARD_DEVICE ${loop} is mounted (${loop} on ${mountPoint}); unmount it first`);
      await run('umount', [mountPoint]);

      // A 40 MiB medium-like image with a recognisable head and tail, written from its .xz.
      const image = join(dir, 'medium.img');
      await run('truncate', ['-s', '40M', image]);
      await run('sh', ['-c', 'printf HOOK-HEAD | dd of="$1" conv=notrunc status=none; printf HOOK-TAIL | dd of="$1" bs=1 seek=41943031 conv=notrunc status=none', 'sh', image]);
      const expected = createHash('sha256').update(await readFile(image)).digest('hex');
      const compressed = await compressXz(image, `${image}.xz`, process.env);
      expect(existsSync(image)).toBe(false);
      await writeImageToDevice(compressed, loop);
      const written = (await run('sh', ['-c', 'head -c 41943040 "$1" | sha256sum', 'sh', loop])).stdout.split(' ')[0];
      expect(written).toBe(expected);
    });
  });
});
