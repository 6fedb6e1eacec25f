/**
 * The content hash of an image folder, exactly as upstream Hook computes it from the repository
 * root:
 *
 *   find images/NAME -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
 *
 * i.e. sha256 over the `sha256sum` lines (`<hex>  <path>\n`) of every regular file (symlinks
 * are not followed and not counted, as with `find -type f`), paths sorted bytewise. The path is
 * part of each line, so the folder must be spelled as upstream does: relative to the workspace
 * root, without a trailing slash.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '@hook/log';

/** The regular files under `root/dir`, as paths starting with `dir`, sorted as `LC_ALL=C sort`. */
export async function listFilesSorted(root: string, dir: string): Promise<string[]> {
  const files: string[] = [];
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    const entries = await readdir(join(root, current), { withFileTypes: true });
    for (const entry of entries) {
      const path = `${current}/${entry.name}`;
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) files.push(path);
    }
  }
  return files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** One line of `sha256sum` output, with its escaping of `\` and newline in file names. */
export function sha256sumLine(hex: string, path: string): string {
  if (!/[\\\n]/.test(path)) return `${hex}  ${path}\n`;
  return `\\${hex}  ${path.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`;
}

/**
 * Hex sha256 of a file, read with one reused buffer: synchronous reads are the fastest way
 * through thousands of small files (no per-file promise, stat or allocation).
 */
export function sha256File(path: string, buffer: Buffer = Buffer.allocUnsafe(1024 * 1024)): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * The upstream folder hash (64 hex). `dir` is relative to `root` (e.g. `images/dhcp`), spelled
 * as upstream's `find` argument.
 */
export async function hashDirectory(root: string, dir: string): Promise<string> {
  const spelled = dir.replace(/\/+$/, '');
  const stat = await lstat(join(root, spelled)).catch(() => undefined);
  if (!stat?.isDirectory()) throw new UserError(`${join(root, spelled)} is not a directory; check the image name`);
  const files = await listFilesSorted(root, spelled);
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  const hexes = files.map((file) => sha256File(join(root, file), buffer));
  const total = createHash('sha256');
  // With no file at all, xargs still runs sha256sum once, which then hashes its empty stdin.
  if (files.length === 0) total.update(sha256sumLine(createHash('sha256').digest('hex'), '-'));
  files.forEach((file, i) => total.update(sha256sumLine(hexes[i]!, file)));
  return total.digest('hex');
}
