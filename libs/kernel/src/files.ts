/** File helpers: hashing, atomic directory publication, temp dirs. */
import { sha256OfFile } from '@hook/oci';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { exists, tempDirBeside } from '@hook/debian';
import { basename, dirname, join } from 'node:path';

/** Hex sha256 of a file (@hook/oci's one helper). */
export async function sha256File(path: string): Promise<string> {
  return (await sha256OfFile(path)).sha256;
}

/**
 * Fills a temp directory with `fill`, then replaces `target` with it. On failure the temp
 * directory is removed and `target` is left as it was: nothing half-written.
 */
export async function publishDir<T>(target: string, fill: (dir: string) => Promise<T>): Promise<T> {
  const temp = await tempDirBeside(target);
  try {
    const result = await fill(temp);
    // mkdtemp makes 0700; the published folder is 0755 like the one Nx restores from its cache.
    await chmod(temp, 0o755);
    const old = `${temp}.old`;
    if (await exists(target)) await rename(target, old);
    await rename(temp, target);
    await rm(old, { recursive: true, force: true });
    return result;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** Writes a file through a temp name in the same directory. */
export async function publishFile(target: string, fill: (tempPath: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.part-${process.pid}`);
  try {
    await fill(temp);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
