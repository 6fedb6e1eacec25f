/** The two file helpers apt downloads need (@hook/kernel re-exports them). */
import { mkdir, mkdtemp, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { removeOnInterrupt } from '@hook/process';

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * A temp directory next to `target` (same filesystem, so rename works), with this process's pid
 * in its name (a later build removes it when that process is gone) and removed on an interrupt.
 */
export async function tempDirBeside(target: string): Promise<string> {
  await mkdir(dirname(target), { recursive: true });
  const dir = await mkdtemp(join(dirname(target), `.${basename(target)}.tmp-${process.pid}-`));
  removeOnInterrupt(dir);
  return dir;
}
