/** kernel.org: releases.json (cached two hours) and the URLs of a release's files. */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { publishFile } from './files';
import { setting } from '@hook/settings';

const RELEASES_MAX_AGE_MS = 2 * 60 * 60 * 1000;

export function kernelOrgSettings(env: NodeJS.ProcessEnv) {
  return {
    releasesUrl: setting(env, 'KERNEL_ORG_RELEASES_URL'),
    /** The directory that holds v6.x/, v5.x/ ... (kernel.org layout). */
    baseUrl: setting(env, 'KERNEL_ORG_BASE_URL').replace(/\/+$/, ''),
    timeoutMs: setting(env, 'KERNEL_ORG_TIMEOUT_MS'),
  };
}

interface ReleasesJson {
  releases?: { version: string; moniker?: string; iseol?: boolean }[];
}

/** The newest point release of a series in releases.json (not linux-next, not -rc). */
export function pointFromReleases(json: ReleasesJson, major: number, minor: number): number | undefined {
  for (const release of json.releases ?? []) {
    if (release.moniker === 'linux-next' || /next-|-rc/.test(release.version)) continue;
    const match = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(release.version);
    if (match && Number(match[1]) === major && Number(match[2]) === minor) return Number(match[3] ?? 0);
  }
  return undefined;
}

/** releases.json, from the cache when younger than two hours. */
export async function fetchReleases(cacheDir: string, env: NodeJS.ProcessEnv): Promise<ReleasesJson> {
  const { releasesUrl, timeoutMs } = kernelOrgSettings(env);
  const cached = join(cacheDir, 'releases.json');
  const fresh = await stat(cached).then(
    (s) => Date.now() - s.mtimeMs < RELEASES_MAX_AGE_MS,
    () => false,
  );
  if (fresh) return JSON.parse(await readFile(cached, 'utf8')) as ReleasesJson;
  let text: string;
  try {
    const response = await fetch(releasesUrl, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    text = await response.text();
    JSON.parse(text);
  } catch (error) {
    throw new UserError(`kernel.org releases.json unreachable at ${releasesUrl} (${(error as Error).message}); pin KERNEL_POINT_RELEASE or use KERNEL_SOURCE=debian`);
  }
  await publishFile(cached, (temp) => writeFile(temp, text));
  return JSON.parse(text) as ReleasesJson;
}

/** True when kernel.org (or the configured base URL) answers within the timeout. */
export async function kernelOrgReachable(env: NodeJS.ProcessEnv): Promise<boolean> {
  const { baseUrl, timeoutMs } = kernelOrgSettings(env);
  try {
    const response = await fetch(`${baseUrl}/`, { method: 'HEAD', signal: AbortSignal.timeout(Math.min(timeoutMs, 3000)) });
    await response.arrayBuffer();
    return response.status < 500;
  } catch {
    return false;
  }
}

export function tarballName(major: number, minor: number, point: number): string {
  return point === 0 ? `linux-${major}.${minor}.tar.xz` : `linux-${major}.${minor}.${point}.tar.xz`;
}
