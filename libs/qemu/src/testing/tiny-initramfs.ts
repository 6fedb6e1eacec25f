/**
 * Test fixture: a tiny initramfs whose /init prints the kernel command line and a marker on the
 * console, then powers off (or keeps running). Needs a static busybox (Debian: busybox-static).
 * The newc archive is written here rather than with cpio(1) so /dev/console can be a real
 * character device (5,1) without root and mknod.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { UserError } from '@hook/log';

export const STATIC_BUSYBOX = '/bin/busybox';

export interface TinyInitramfsOptions {
  /** Printed on its own line once /init runs. */
  marker: string;
  /** Power off after printing (default), or keep the machine running. */
  powerOff?: boolean;
  busybox?: string;
}

/** The line /init prints before the command line, so tests can find what the kernel saw. */
export const CMDLINE_PREFIX = 'hook-test-cmdline: ';

export async function writeTinyInitramfs(output: string, options: TinyInitramfsOptions): Promise<void> {
  const busyboxPath = options.busybox ?? STATIC_BUSYBOX;
  let busybox: Buffer;
  try {
    busybox = await readFile(busyboxPath);
  } catch {
    throw new UserError(`${busyboxPath} not found; install it (Debian: apt-get install busybox-static)`);
  }
  if (hasInterpreter(busybox)) throw new UserError(`${busyboxPath} is dynamically linked; install busybox-static`);

  const init = [
    '#!/bin/busybox sh',
    '/bin/busybox mount -t proc proc /proc',
    `echo "${CMDLINE_PREFIX}$(/bin/busybox cat /proc/cmdline)"`,
    `echo '${options.marker.replace(/'/g, `'\\''`)}'`,
    options.powerOff === false ? 'while :; do /bin/busybox sleep 60; done' : '/bin/busybox poweroff -f',
    '',
  ].join('\n');

  const archive = new NewcWriter();
  archive.directory('bin');
  archive.file('bin/busybox', busybox, 0o755);
  archive.symlink('bin/sh', 'busybox');
  archive.directory('dev');
  archive.charDevice('dev/console', 5, 1, 0o600);
  archive.directory('proc');
  archive.directory('sys');
  archive.file('init', Buffer.from(init), 0o755);
  const partial = `${output}.partial`;
  await writeFile(partial, archive.finish());
  await rename(partial, output);
}

/** True when an ELF executable asks for a dynamic loader (has a PT_INTERP program header). */
function hasInterpreter(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false; // not 64-bit ELF: let the kernel judge
  const little = elf[5] === 1;
  const u16 = (at: number) => (little ? elf.readUInt16LE(at) : elf.readUInt16BE(at));
  const u32 = (at: number) => (little ? elf.readUInt32LE(at) : elf.readUInt32BE(at));
  const phoff = Number(little ? elf.readBigUInt64LE(32) : elf.readBigUInt64BE(32));
  const phentsize = u16(54);
  for (let i = 0; i < u16(56); i++) {
    if (u32(phoff + i * phentsize) === 3) return true;
  }
  return false;
}

/** A minimal cpio "newc" writer: enough for a test initramfs. */
class NewcWriter {
  private readonly parts: Buffer[] = [];
  private inode = 1;

  directory(name: string, mode = 0o755): void {
    this.entry(name, 0o040000 | mode, Buffer.alloc(0));
  }
  file(name: string, data: Buffer, mode = 0o644): void {
    this.entry(name, 0o100000 | mode, data);
  }
  symlink(name: string, target: string): void {
    this.entry(name, 0o120000 | 0o777, Buffer.from(target));
  }
  charDevice(name: string, major: number, minor: number, mode: number): void {
    this.entry(name, 0o020000 | mode, Buffer.alloc(0), major, minor);
  }
  finish(): Buffer {
    this.entry('TRAILER!!!', 0, Buffer.alloc(0), 0, 0, 0);
    return Buffer.concat(this.parts);
  }

  private entry(name: string, mode: number, data: Buffer, rdevMajor = 0, rdevMinor = 0, inode = this.inode++): void {
    const nameBytes = Buffer.from(`${name}\0`);
    const fields = [inode, mode, 0, 0, (mode & 0o170000) === 0o040000 ? 2 : 1, 0, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0];
    const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'ascii');
    this.parts.push(header, nameBytes, pad(header.length + nameBytes.length), data, pad(data.length));
  }
}

function pad(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}
