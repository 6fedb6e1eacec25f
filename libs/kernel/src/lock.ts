/**
 * kernel/versions.lock.json: the point release each kernel series builds, resolved once by
 * refreshKernelLock and committed, so a build does not change because a release was published.
 * Keys have no dots (`v6_12`) so Nx `{json, fields}` inputs can select them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { publishFile } from './files';

export const LOCK_FILE = 'kernel/versions.lock.json';

export interface SeriesLock {
  point: number;
  /** Where the point came from, e.g. `debian:linux-source-6.12 6.12.117-1` or `kernel.org releases.json`. */
  resolvedFrom: string;
  /** The exact Debian source package version when Debian provided it. */
  debianVersion?: string;
}

export interface VersionsLock {
  series: Record<string, SeriesLock>;
}

export function seriesKey(major: number, minor: number): string {
  return `v${major}_${minor}`;
}

export async function readLock(workspaceRoot: string): Promise<VersionsLock> {
  const path = join(workspaceRoot, LOCK_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { series: {} };
  }
  try {
    const parsed = JSON.parse(text) as VersionsLock;
    return { series: parsed.series ?? {} };
  } catch (error) {
    throw new UserError(`${LOCK_FILE} is not valid JSON (${(error as Error).message}); fix it or run the kernel lock refresh again`);
  }
}

export async function writeLock(workspaceRoot: string, lock: VersionsLock): Promise<void> {
  const sorted: VersionsLock = { series: {} };
  for (const key of Object.keys(lock.series).sort()) sorted.series[key] = lock.series[key];
  await publishFile(join(workspaceRoot, LOCK_FILE), (temp) => writeFile(temp, `${JSON.stringify(sorted, null, 2)}\n`));
}
