/**
 * CARD_DEVICE: writing a medium to a card or disk, only after checks that refuse a path that
 * is not a block device, a device that is mounted (or one of its partitions is), a device
 * that holds the running system (/ or /boot), and one that device-mapper or RAID holds.
 * Each refusal is one line; nothing is written then.
 */
import { closeSync, constants, createReadStream, createWriteStream, existsSync, fsyncSync, openSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError, log } from '@hook/log';
import { spawnFilter } from '@hook/process';

export interface MountEntry {
  /** `major:minor` of the mounted file system's device. */
  device: string;
  mountPoint: string;
  /** What was mounted (`/dev/sda1`, `overlay`, ...). */
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMountField(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * Parses /proc/self/mountinfo (proc(5)): `id parent major:minor root mountpoint options
 * [optional fields...] - fstype source superoptions`.
 */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (fields.length < 7 || separator < 0 || !/^\d+:\d+$/.test(fields[2])) continue;
    entries.push({ device: fields[2], mountPoint: unescapeMountField(fields[4]), source: unescapeMountField(fields[separator + 2] ?? '') });
  }
  return entries;
}

/** Where a machine's block devices are described; tests point these at fixtures. */
export interface SystemView {
  mountInfo: string;
  /** `major:minor` of the file systems of / and /boot (when /boot exists). */
  systemDevices: string[];
  /** /sys/dev/block */
  sysDevBlock: string;
}

export function liveSystemView(): SystemView {
  const systemDevices: string[] = [];
  for (const path of ['/', '/boot']) {
    if (!existsSync(path)) continue;
    const dev = statSync(path).dev;
    systemDevices.push(`${major(dev)}:${minor(dev)}`);
  }
  return { mountInfo: readFileSync('/proc/self/mountinfo', 'utf8'), systemDevices, sysDevBlock: '/sys/dev/block' };
}

/** Linux's dev_t encoding (glibc's gnu_dev_major/minor). */
export function major(dev: number): number {
  return Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
}
export function minor(dev: number): number {
  return Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
}

/** The device and its partitions (`major:minor` each), from /sys/dev/block/<maj:min>. */
function deviceAndPartitions(view: SystemView, id: string): { ids: string[]; holders: string[]; wholeDisk: string } {
  const sysPath = join(view.sysDevBlock, id);
  const ids = [id];
  const holders: string[] = [];
  let wholeDisk = id;
  if (existsSync(sysPath)) {
    const real = realpathSync(sysPath);
    // A partition's folder sits inside its disk's folder; a disk's folder holds its partitions.
    if (existsSync(join(real, 'partition'))) {
      const parentDev = join(real, '..', 'dev');
      if (existsSync(parentDev)) wholeDisk = readFileSync(parentDev, 'utf8').trim();
    }
    for (const entry of readdirSync(real)) {
      const dev = join(real, entry, 'dev');
      if (existsSync(join(real, entry, 'partition')) && existsSync(dev)) {
        ids.push(readFileSync(dev, 'utf8').trim());
        const partitionHolders = join(real, entry, 'holders');
        if (existsSync(partitionHolders)) holders.push(...readdirSync(partitionHolders));
      }
    }
    if (existsSync(join(real, 'holders'))) holders.push(...readdirSync(join(real, 'holders')));
  }
  return { ids, holders, wholeDisk };
}

/** The whole disk (`major:minor`) a device id belongs to. */
function wholeDiskOf(view: SystemView, id: string): string {
  return deviceAndPartitions(view, id).wholeDisk;
}

/**
 * Checks CARD_DEVICE before anything is written to it; returns its resolved path. Throws a
 * one-line UserError naming the problem and the fix.
 */
export function checkCardDevice(device: string, view: SystemView = liveSystemView()): string {
  if (!existsSync(device)) throw new UserError(`CARD_DEVICE ${device} does not exist; plug the card in and give its device, e.g. CARD_DEVICE=/dev/sdX (lsblk lists them)`);
  const path = realpathSync(device);
  const info = statSync(path);
  if (!info.isBlockDevice()) {
    const kind = info.isFile() ? 'a regular file' : info.isDirectory() ? 'a directory' : info.isCharacterDevice() ? 'a character device' : 'not a block device';
    throw new UserError(`CARD_DEVICE ${device} is ${kind}, not a block device; give the whole card's device, e.g. CARD_DEVICE=/dev/sdX (lsblk lists them), or leave CARD_DEVICE unset to get the image file`);
  }
  const id = `${major(info.rdev)}:${minor(info.rdev)}`;
  const { ids, holders } = deviceAndPartitions(view, id);
  const mounted = parseMountInfo(view.mountInfo).filter((m) => ids.includes(m.device));
  const system = view.systemDevices.filter((sys) => ids.includes(sys) || ids.includes(wholeDiskOf(view, sys)));
  if (system.length > 0) {
    throw new UserError(`CARD_DEVICE ${device} holds the running system (/ or /boot is on it); writing it would destroy this machine's system: give the card's device instead (lsblk lists them)`);
  }
  if (mounted.length > 0) {
    const where = mounted.map((m) => `${m.source} on ${m.mountPoint}`).join(', ');
    throw new UserError(`CARD_DEVICE ${device} is mounted (${where}); unmount it first (umount), then run again`);
  }
  if (holders.length > 0) {
    throw new UserError(`CARD_DEVICE ${device} is in use by ${[...new Set(holders)].join(', ')} (device-mapper, LVM or RAID); stop that use first, then run again`);
  }
  return path;
}

/**
 * Writes an image (`.img`, or `.img.xz` decompressed on the way) to a checked device, then
 * flushes it. The device is opened with O_EXCL, which the kernel refuses while anything
 * mounts or holds it, so a mount that appears after the check still stops the write.
 */
export async function writeImageToDevice(image: string, device: string, view?: SystemView): Promise<void> {
  const path = checkCardDevice(device, view);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_EXCL);
  } catch (error) {
    throw new UserError(`CARD_DEVICE ${device} cannot be opened for writing (${(error as NodeJS.ErrnoException).code ?? String(error)}); is it in use?`);
  }
  try {
    // A plain descriptor: the stream writes, this function flushes and closes it.
    const sink = createWriteStream('', { fd, autoClose: false });
    log.info(`Writing ${basename(image)} to ${device} ...`);
    if (image.endsWith('.xz')) {
      const xz = await spawnFilter('xz', ['--decompress', '--stdout', '--', image]);
      xz.stdin.end();
      await Promise.all([pipeline(xz.stdout, sink), xz.done]);
    } else {
      await pipeline(createReadStream(image), sink);
    }
    fsyncSync(fd);
    log.info(`Wrote ${basename(image)} to ${device}; it is flushed and can be removed`);
  } finally {
    closeSync(fd);
  }
}
