/**
 * Entry points on bad input (one clear line, nothing in dist/) and the lock refresh through
 * Debian's linux-source packages (apt on the host's mirror; lists cached two hours).
 * Debian packages: apt.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKernelTarget, configureKernel, refreshKernelLock } from './target';
import { SHARED_CACHE } from '../test/helpers';

jest.setTimeout(120_000);

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hook-kernel-target-'));
  await mkdir(join(root, 'kernel', 'configs'), { recursive: true });
  await writeFile(join(root, 'kernel', 'configs', 'generic-6.12.y-x86_64'), 'CONFIG_64BIT=y\n');
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function kernelYaml(id: string, yaml: string) {
  await mkdir(join(root, 'kernel', id), { recursive: true });
  await writeFile(join(root, 'kernel', id, 'kernel.yaml'), yaml);
}

describe('kernel targets on bad input', () => {
  it('names an unknown kernel and suggests the close one', async () => {
    await kernelYaml('hook-default-amd64', 'METHOD: default\nARCH: x86_64\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 12\n');
    await expect(buildKernelTarget({ workspaceRoot: root, kernelId: 'hook-default-amd46', env: {} })).rejects.toThrow(
      /^Unknown kernel 'hook-default-amd46' \(did you mean hook-default-amd64\?\)/,
    );
  });

  it('stops on a series without a defconfig, listing the series that have one', async () => {
    await kernelYaml('k', 'METHOD: default\nARCH: x86_64\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 99\n');
    await expect(buildKernelTarget({ workspaceRoot: root, kernelId: 'k', env: { CACHE_DIR: join(root, 'cache') } })).rejects.toThrow(
      /^kernel\/k\/kernel\.yaml: no defconfig kernel\/configs\/generic-6\.99\.y-x86_64 for 6\.99\.y; add it or choose a series that has one \(6\.12\.y\)$/,
    );
    await expect(readdir(join(root, 'dist'))).rejects.toThrow();
  });

  it('stops when the lock has no point release for the series', async () => {
    await kernelYaml('k', 'METHOD: default\nARCH: x86_64\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 12\n');
    await expect(buildKernelTarget({ workspaceRoot: root, kernelId: 'k', env: { CACHE_DIR: join(root, 'cache') } })).rejects.toThrow(
      /^kernel\/versions\.lock\.json has no point release for 6\.12 \(key v6_12\); refresh the kernel lock/,
    );
  });

  it('refuses an unknown KERNEL_SOURCE and KERNEL_BUILDER', async () => {
    await kernelYaml('k', 'METHOD: default\nARCH: x86_64\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 12\n');
    await expect(buildKernelTarget({ workspaceRoot: root, kernelId: 'k', env: { KERNEL_BUILDER: 'vm' } })).rejects.toThrow("KERNEL_BUILDER is 'vm'; use container or host");
    await expect(refreshKernelLock({ workspaceRoot: root, env: { KERNEL_SOURCE: 'ftp' } })).rejects.toThrow("KERNEL_SOURCE is 'ftp'; use auto, kernel.org, mirror, tarball or debian");
  });

  it('refuses to configure a Debian package kernel', async () => {
    await kernelYaml('d', 'METHOD: debian\nARCH: x86_64\nDEBIAN_SUITE: trixie\n');
    await expect(configureKernel({ workspaceRoot: root, kernelId: 'd', env: {}, mode: 'menuconfig' })).rejects.toThrow(/cannot be reconfigured/);
  });
});

describe('kernel lock refresh (integration: apt on the host mirror)', () => {
  it('records the Debian linux-source point release under a dot-free key and keeps it stable', async () => {
    await kernelYaml('a', 'METHOD: default\nARCH: x86_64\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 12\n');
    await kernelYaml('b', 'METHOD: default\nARCH: aarch64\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 12\n');
    await kernelYaml('d', 'METHOD: debian\nARCH: x86_64\nDEBIAN_SUITE: trixie\n');
    const env = { CACHE_DIR: SHARED_CACHE, KERNEL_SOURCE: 'debian' };
    await refreshKernelLock({ workspaceRoot: root, env });
    const lock = JSON.parse(await readFile(join(root, 'kernel', 'versions.lock.json'), 'utf8'));
    expect(Object.keys(lock.series)).toEqual(['v6_12']);
    const entry = lock.series.v6_12;
    expect(entry.resolvedFrom).toBe(`debian:linux-source-6.12 ${entry.debianVersion}`);
    expect(entry.debianVersion.startsWith(`6.12.${entry.point}-`)).toBe(true);
    const before = await readFile(join(root, 'kernel', 'versions.lock.json'), 'utf8');
    await refreshKernelLock({ workspaceRoot: root, kernelIds: ['a'], env });
    expect(await readFile(join(root, 'kernel', 'versions.lock.json'), 'utf8')).toBe(before);
  });
});
