/** Fast unit tests: releases.json, the lock, tags, archives (apt sources and .deb reading: @hook/debian). */
import { mkdir, readFile, writeFile, symlink, chmod, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import { run } from '@hook/process';
import { unpackTar } from '@hook/debian';
import { packTree } from './archive';
import { readLock, seriesKey, writeLock } from './lock';
import { pointFromReleases } from './releases';
import { upstreamOf, makefileVersion, patchCommandLineSize } from './source';
import { highestBuiltPoint, sourceKernelTag } from './tag';
import { latestArmbianTag } from './armbian';
import { versionOfRelease } from './kernel-package';

jest.setTimeout(30_000);

const dir = useTempDir('hook-kernel-unit-');

describe('versions', () => {
  it('takes the newest stable point of a series from releases.json', () => {
    const json = {
      releases: [
        { version: 'next-20261120', moniker: 'linux-next' },
        { version: '6.19-rc4', moniker: 'mainline' },
        { version: '6.12.58', moniker: 'longterm' },
        { version: '6.6.0', moniker: 'longterm' },
        { version: '6.18', moniker: 'stable' },
      ],
    };
    expect(pointFromReleases(json, 6, 12)).toBe(58);
    expect(pointFromReleases(json, 6, 18)).toBe(0);
    expect(pointFromReleases(json, 6, 19)).toBeUndefined();
    expect(pointFromReleases(json, 5, 10)).toBeUndefined();
  });

  it('reads versions from Debian packages, kernel releases and published tags', () => {
    expect(upstreamOf('6.12.117-1')).toBe('6.12.117');
    expect(upstreamOf('7.2.12-1~bpo13+1')).toBe('7.2.12');
    expect(versionOfRelease('6.12.117+deb13-amd64')).toBe('6.12.117');
    expect(versionOfRelease('6.18-arm64')).toBe('6.18.0');
    expect(highestBuiltPoint(['6.12.9-0123abcd', '6.12.117-89abcdef', '6.6.1-01234567', 'latest', '6.12.200-bad'], 6, 12)).toBe(117);
    expect(latestArmbianTag(['6.12.9-S1a-D2', '6.12.10-S0b-D1', 'latest', '6.1.99-Sff'])).toBe('6.12.10-S0b-D1');
    expect(latestArmbianTag(['latest'])).toBeUndefined();
  });

  it('changes the tag when the defconfig or the build recipe changes', async () => {
    await mkdir(join(dir.path, 'kernel', 'configs'), { recursive: true });
    await writeFile(join(dir.path, 'kernel', 'configs', 'x'), 'CONFIG_A=y\n');
    await writeFile(join(dir.path, 'kernel', 'Dockerfile'), 'FROM a\n');
    const first = await sourceKernelTag(dir.path, 'kernel/configs/x', 6, 12, 117);
    expect(first).toMatch(/^6\.12\.117-[0-9a-f]{8}$/);
    expect(await sourceKernelTag(dir.path, 'kernel/configs/x', 6, 12, 117)).toBe(first);
    await writeFile(join(dir.path, 'kernel', 'configs', 'x'), 'CONFIG_A=y\nCONFIG_B=y\n');
    const second = await sourceKernelTag(dir.path, 'kernel/configs/x', 6, 12, 117);
    await writeFile(join(dir.path, 'kernel', 'Dockerfile'), 'FROM b\n');
    const third = await sourceKernelTag(dir.path, 'kernel/configs/x', 6, 12, 117);
    expect(new Set([first, second, third]).size).toBe(3);
  });

  it('writes the lock with dot-free keys, sorted, and reads it back', async () => {
    expect(seriesKey(6, 12)).toBe('v6_12');
    expect(await readLock(dir.path)).toEqual({ series: {} });
    await writeLock(dir.path, { series: { v6_6: { point: 1, resolvedFrom: 'x' }, v5_10: { point: 2, resolvedFrom: 'y' } } });
    const text = await readFile(join(dir.path, 'kernel', 'versions.lock.json'), 'utf8');
    expect(text.indexOf('v5_10')).toBeLessThan(text.indexOf('v6_6'));
    expect((await readLock(dir.path)).series.v6_6.point).toBe(1);
    await writeFile(join(dir.path, 'kernel', 'versions.lock.json'), '{');
    await expect(readLock(dir.path)).rejects.toThrow(/versions.lock.json is not valid JSON/);
  });
});

describe('source tree', () => {
  it('reads the Makefile version and raises COMMAND_LINE_SIZE to 4096 on x86', async () => {
    await writeFile(join(dir.path, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\nEXTRAVERSION =\n');
    expect(await makefileVersion(dir.path)).toBe('6.12.117');
    await mkdir(join(dir.path, 'arch/x86/include/asm'), { recursive: true });
    await writeFile(join(dir.path, 'arch/x86/include/asm/setup.h'), '#define COMMAND_LINE_SIZE 2048\n');
    await patchCommandLineSize(dir.path);
    expect(await readFile(join(dir.path, 'arch/x86/include/asm/setup.h'), 'utf8')).toBe('#define COMMAND_LINE_SIZE 4096\n');
  });
});

describe('archives', () => {
  it('packs a tree with a ./ root entry carrying the root permissions, and unpacks it identically', async () => {
    const tree = join(dir.path, 'tree');
    await mkdir(join(tree, 'lib', 'modules', '6.12.1', 'kernel'), { recursive: true });
    await writeFile(join(tree, 'lib', 'modules', '6.12.1', 'kernel', 'a.ko'), 'module');
    await symlink('kernel/a.ko', join(tree, 'lib', 'modules', '6.12.1', 'alias'));
    await chmod(tree, 0o755);
    const out = join(dir.path, 'kernel.tar');
    await packTree(tree, out, { mtime: 1700000000 });
    const listing = (await run('tar', ['-tvf', out])).stdout.split('\n');
    expect(listing[0]).toMatch(/^drwxr-xr-x root\/root .* \.\/$/);
    expect(listing.map((l) => l.split(/\s+/).slice(5).join(' '))).toEqual([
      './',
      './lib/',
      './lib/modules/',
      './lib/modules/6.12.1/',
      './lib/modules/6.12.1/alias -> kernel/a.ko',
      './lib/modules/6.12.1/kernel/',
      './lib/modules/6.12.1/kernel/a.ko',
    ]);
    const again = join(dir.path, 'kernel2.tar');
    await packTree(tree, again, { mtime: 1700000000 });
    expect(await readFile(again)).toEqual(await readFile(out));
    const back = join(dir.path, 'back');
    await unpackTar(createReadStream(out), back);
    expect(await readFile(join(back, 'lib/modules/6.12.1/alias'), 'utf8')).toBe('module');
  });
});

describe('module policy', () => {
  it('keeps the SoC basics (clocks, PHYs, regulators ...) for arm64 only', async () => {
    const { trimModules, installerPolicy, INSTALLER_POLICY } = await import('./modules');
    expect(installerPolicy('x86_64')).toBe(INSTALLER_POLICY);
    const files = ['kernel/drivers/clk/rockchip/clk-rk3568.ko.xz', 'kernel/drivers/phy/rockchip/phy-rockchip-naneng-combphy.ko.xz', 'kernel/drivers/regulator/fan53555.ko.xz', 'kernel/drivers/media/rc/rc-core.ko.xz'];
    const kept: Record<string, string[]> = {};
    for (const arch of ['x86_64', 'aarch64']) {
      const root = join(dir.path, arch);
      const base = join(root, 'lib', 'modules', '6.12.1');
      for (const path of files) {
        await mkdir(join(base, path, '..'), { recursive: true });
        await writeFile(join(base, path), 'x');
      }
      await writeFile(join(base, 'modules.dep'), '');
      await trimModules(root, '6.12.1', installerPolicy(arch));
      kept[arch] = (await run('find', [base, '-name', '*.ko.xz'])).stdout.split('\n').filter(Boolean).map((p) => p.slice(base.length + 1)).sort();
    }
    expect(kept.x86_64).toEqual([]);
    expect(kept.aarch64).toEqual(files.slice(0, 3).sort());
  });

  it('keeps the allow list, drops the rest, keeps what kept modules need, reruns depmod and reports sizes and names', async () => {
    const { trimModules, INSTALLER_POLICY } = await import('./modules');
    const base = join(dir.path, 'lib', 'modules', '6.12.1');
    const files: Record<string, number> = {
      'kernel/sound/core/snd.ko.xz': 300,
      'kernel/drivers/media/rc/rc-core.ko.xz': 200,
      'kernel/drivers/media/usb/uvc/uvcvideo.ko.xz': 100,
      'kernel/drivers/hid/usbhid/usbhid.ko.xz': 50,
      'kernel/drivers/gpu/drm/tiny/simpledrm.ko.xz': 40,
      'kernel/drivers/gpu/drm/i915/i915.ko.xz': 900,
      'kernel/drivers/net/virtio_net.ko.xz': 60,
      'kernel/drivers/net/wireless/intel/iwlwifi.ko.xz': 700,
      'kernel/fs/nls/nls_utf8.ko.xz': 5,
      'kernel/fs/nls/nls_cp1250.ko.xz': 7,
    };
    for (const [path, size] of Object.entries(files)) {
      await mkdir(join(base, path, '..'), { recursive: true });
      await writeFile(join(base, path), 'x'.repeat(size));
    }
    await writeFile(join(base, 'modules.dep'), 'kernel/drivers/hid/usbhid/usbhid.ko.xz: kernel/drivers/media/rc/rc-core.ko.xz\n');
    const report = await trimModules(dir.path, '6.12.1', INSTALLER_POLICY);
    expect(report.keptAsDependency).toEqual(['kernel/drivers/media/rc/rc-core.ko.xz']);
    expect(report.dropped.count).toBe(5);
    expect(report.dropped.bytes).toBe(300 + 100 + 900 + 700 + 7);
    expect(report.kept).toEqual({ count: 5, bytes: 355 });
    expect(Object.keys(report.dropped.byReason).sort()).toEqual([
      'code pages other than 437, ISO 8859-1 and UTF-8',
      'not needed to provision a machine (outside the kept list)',
      'wireless, WWAN and other radio links',
    ]);
    expect(report.dropped.byReason['not needed to provision a machine (outside the kept list)']).toEqual({ count: 3, bytes: 1300 });
    const left = (await run('find', [base, '-name', '*.ko.xz'])).stdout.split('\n').map((p) => p.slice(base.length + 1)).sort();
    expect(left).toEqual([
      'kernel/drivers/gpu/drm/tiny/simpledrm.ko.xz',
      'kernel/drivers/hid/usbhid/usbhid.ko.xz',
      'kernel/drivers/media/rc/rc-core.ko.xz',
      'kernel/drivers/net/virtio_net.ko.xz',
      'kernel/fs/nls/nls_utf8.ko.xz',
    ]);
    await expect(stat(join(base, 'kernel', 'sound'))).rejects.toThrow();
    expect(await readFile(join(base, 'modules.dep'), 'utf8')).toContain('kernel/drivers/net/virtio_net.ko.xz:');
    // The report names every dropped module under its reason.
    expect(report.markdown).toContain('| wireless, WWAN and other radio links | 1 | 700 B |');
    expect(report.markdown).toMatch(/### not needed to provision a machine \(outside the kept list\)\n\ndrivers\/gpu\/drm\/i915\/i915, drivers\/media\/usb\/uvc\/uvcvideo, sound\/core\/snd\n/);
    expect(report.markdown).toContain('drivers/net/wireless/intel/iwlwifi');
  });

  it('lets the longest matching prefix decide (a drop rule inside a kept folder wins)', async () => {
    const { trimModules } = await import('./modules');
    const base = join(dir.path, 'lib', 'modules', '6.12.1');
    for (const path of ['kernel/a/b/keep.ko', 'kernel/a/b/c/drop.ko', 'kernel/a/other.ko']) {
      await mkdir(join(base, path, '..'), { recursive: true });
      await writeFile(join(base, path), 'x');
    }
    await writeFile(join(base, 'modules.dep'), '');
    const policy = { name: 't', drop: [{ prefix: 'kernel/', why: 'rest' }, { prefix: 'kernel/a/b/c/', why: 'c' }], keep: [{ prefix: 'kernel/a/b/', why: 'b' }] };
    const report = await trimModules(dir.path, '6.12.1', policy);
    expect(report.dropped.byReason).toEqual({ rest: { count: 1, bytes: 1 }, c: { count: 1, bytes: 1 } });
    expect(report.kept.count).toBe(1);
  });
});
