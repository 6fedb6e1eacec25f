/** Resolving point releases into kernel/versions.lock.json (explicit, never during a build). */
import { log, UserError } from '@hook/log';
import type { KernelDefinition } from '@hook/inventory';
import { AptSuite } from '@hook/debian';
import { readLock, seriesKey, writeLock, type SeriesLock } from './lock';
import { kernelCacheDir } from './paths';
import { fetchReleases, pointFromReleases } from './releases';
import { chooseProvider, debianSourceSuite, upstreamOf } from './source';
import { setting } from '@hook/settings';

export async function resolveSeries(workspaceRoot: string, env: NodeJS.ProcessEnv, major: number, minor: number): Promise<SeriesLock> {
  const provider = await chooseProvider(env);
  if (provider === 'debian') {
    const suite = debianSourceSuite(env);
    const pkg = `linux-source-${major}.${minor}`;
    const apt = new AptSuite(kernelCacheDir(workspaceRoot, env), suite, 'amd64', env);
    const version = await apt.candidate(pkg);
    if (!version) throw new UserError(`Debian ${suite} (and its backports) has no ${pkg}; choose another series or KERNEL_SOURCE`);
    const upstream = upstreamOf(version).split('.');
    return { point: Number(upstream[2] ?? 0), resolvedFrom: `debian:${pkg} ${version}`, debianVersion: version };
  }
  if (provider === 'tarball') {
    const match = /linux-(\d+)\.(\d+)(?:\.(\d+))?\.tar/.exec(setting(env, 'KERNEL_TARBALL') ?? '');
    if (!match || Number(match[1]) !== major || Number(match[2]) !== minor) {
      throw new UserError(`KERNEL_TARBALL is not a linux-${major}.${minor}.*.tar.* file; cannot resolve ${major}.${minor} from it`);
    }
    return { point: Number(match[3] ?? 0), resolvedFrom: `tarball:${match[0]}` };
  }
  const releases = await fetchReleases(kernelCacheDir(workspaceRoot, env), env);
  const point = pointFromReleases(releases, major, minor);
  if (point === undefined) {
    throw new UserError(`kernel.org releases.json does not list ${major}.${minor} (end of life?); set KERNEL_POINT_RELEASE or use KERNEL_SOURCE=debian`);
  }
  return { point, resolvedFrom: `kernel.org:releases.json ${major}.${minor}.${point}` };
}

export async function refreshLock(workspaceRoot: string, kernels: KernelDefinition[], env: NodeJS.ProcessEnv): Promise<void> {
  const lock = await readLock(workspaceRoot);
  const seen = new Set<string>();
  let changed = false;
  for (const kernel of kernels) {
    const major = kernel.KERNEL_MAJOR as number;
    const minor = kernel.KERNEL_MINOR as number;
    const key = seriesKey(major, minor);
    if (seen.has(key)) continue;
    seen.add(key);
    const next = await resolveSeries(workspaceRoot, env, major, minor);
    const previous = lock.series[key];
    if (JSON.stringify(previous) !== JSON.stringify(next)) {
      log.notice(`kernel lock ${key}: ${previous ? `${major}.${minor}.${previous.point}` : 'none'} -> ${major}.${minor}.${next.point} (${next.resolvedFrom})`);
      lock.series[key] = next;
      changed = true;
    } else {
      log.info(`kernel lock ${key}: ${major}.${minor}.${next.point} is current`);
    }
  }
  if (changed) await writeLock(workspaceRoot, lock);
}
