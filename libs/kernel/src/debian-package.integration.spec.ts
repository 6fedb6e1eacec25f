/**
 * METHOD debian for real: Debian trixie's linux-image-amd64 through apt (the host's mirror),
 * unpacked in TypeScript, trimmed, and booted in QEMU with its own modules to load virtio_net.
 * Debian packages: apt, xz-utils, kmod (depmod), busybox-static, cpio, qemu-system-x86.
 * About 1-2 min: a ~100 MB download once (cached), extraction, a TCG boot.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '@hook/process';
import { describeAnswer, lookupDevice, parseDevices, unmetDependencies, type HardwareIndex } from '@hook/hardware';
import { validateBomJson } from '@hook/sbom';
import { buildKernelTarget } from './target';
import { INIT_END, INIT_PRELUDE, SHARED_CACHE, bootQemu, buildInitramfs, makeWorkspace, removeWorkspace } from '../test/helpers';

jest.setTimeout(10 * 60_000);

describe('Debian prebuilt kernel (integration: apt + QEMU)', () => {
  let root: string | undefined;
  afterAll(() => removeWorkspace(root));

  it('produces the dist files from linux-image-amd64 and its modules load in QEMU', async () => {
    root = await makeWorkspace(['hook-debian-amd64']);
    const env = { ...process.env, CACHE_DIR: SHARED_CACHE };
    const metadata = await buildKernelTarget({ workspaceRoot: root, kernelId: 'hook-debian-amd64', env });

    expect(metadata.source.provider).toBe('debian-package');
    expect(metadata.source.name).toMatch(/^linux-image-6\.12\.\d+\+deb13-amd64$/);
    expect(metadata.release).toBe(metadata.source.name?.replace(/^linux-image-/, ''));
    expect(metadata.tag).toMatch(/^6\.12\.\d+-[0-9a-f]{8}-amd64$/);
    const dist = join(root, 'dist', 'kernels', 'hook-debian-amd64');
    expect(Object.keys(metadata.files).sort()).toEqual(['System.map', 'dtbs.tar.gz', 'firmware-report.md', 'hardware.json', 'kernel', 'kernel.tar', 'modules-report.md']);

    // kernel.tar: modules under lib/modules (not usr/lib), the policy applied, depmod redone.
    const listing = (await run('tar', ['-tf', join(dist, 'kernel.tar')])).stdout.split('\n');
    const release = metadata.release;
    expect(listing[0]).toBe('./');
    expect(listing).toContain(`./lib/modules/${release}/modules.dep`);
    expect(listing.some((p) => p.startsWith('./usr/'))).toBe(false);
    expect(listing.some((p) => p.includes('/kernel/sound/'))).toBe(false);
    expect(listing.some((p) => p.includes('/drivers/net/wireless/'))).toBe(false);
    expect(listing.some((p) => p.endsWith('/virtio_net.ko.xz'))).toBe(true);
    expect(listing.some((p) => p.endsWith('/drm/tiny/simpledrm.ko.xz') || p.endsWith('/drm/tiny/bochs.ko.xz'))).toBe(true);
    const report = await readFile(join(dist, 'modules-report.md'), 'utf8');
    expect(report).toMatch(/\| not needed to provision a machine \(outside the kept list\) \| \d+ \|/);
    expect(report).toMatch(/sound\/core\/snd[,\n]/);
    expect(report).toMatch(/- dropped: \d+ modules/);

    // Firmware the kept modules declare, from Debian's non-free-firmware, xz-compressed (the
    // package's kernel loads .xz), beside lib/modules; the rest listed with its reason.
    expect(listing).toContain('./lib/firmware/qed/qed_init_values_zipped-8.59.1.0.bin.xz');
    expect(listing).toContain('./lib/firmware/e100/d102e_ucode.bin.xz');
    expect(listing.filter((p) => p.startsWith('./lib/firmware/') && !p.endsWith('/') && !p.endsWith('.xz'))).toEqual([]);
    const firmwareReport = await readFile(join(dist, 'firmware-report.md'), 'utf8');
    expect(firmwareReport).toMatch(/^\d+ files declared by the kept modules: \d+ in lib\/firmware\/ \([\d.]+ MiB\), \d+ missing\.$/m);
    expect(firmwareReport).toMatch(/\| qed\/qed_init_values_zipped-8\.59\.1\.0\.bin \| qed \| qed\/qed_init_values_zipped-8\.59\.1\.0\.bin\.xz \(firmware-qlogic\) \|/);
    expect(firmwareReport).toMatch(/\| isci\/isci_firmware\.bin \| isci \| no package of Debian trixie non-free-firmware ships it \|/);
    expect(firmwareReport).toMatch(/\| bnx2x\/bnx2x-e2-7\.13\.15\.0\.fw \| bnx2x \| left out: bnx2x loads 7\.13\.21 \(present\)/);

    // The hardware index: every kept module can load (what it needs is kept: ice needs gnss, sfc
    // needs mtd; Debian's package ships no modules.dep), and it answers for a device by its IDs.
    const index = JSON.parse(await readFile(join(dist, 'hardware.json'), 'utf8')) as HardwareIndex;
    expect(unmetDependencies(index)).toEqual([]);
    expect(listing.some((p) => p.endsWith('/drivers/gnss/gnss.ko.xz'))).toBe(true);
    expect(listing.some((p) => p.endsWith('/drivers/mtd/mtd.ko.xz'))).toBe(true);
    expect(index.modules.ice).toMatchObject({ kept: true, class: 'network', depends: expect.arrayContaining(['gnss']) });
    const qlogic = parseDevices('1077:8070').devices[0];
    expect(describeAnswer(index, 'hook-debian-amd64', lookupDevice(index, qlogic))).toBe('1077:8070: qede (network, kept); firmware present: qed/qed_init_values_zipped-8.59.1.0.bin (via qed)');
    expect(index.modules.liquidio).toMatchObject({ kept: false, dropped: expect.stringContaining('LiquidIO') });

    // The SBOM: valid CycloneDX, the package as purl, the package's config hash, every kept module.
    const sbom = await readFile(join(dist, 'sbom.cdx.json'), 'utf8');
    expect(await validateBomJson(sbom)).toBeNull();
    const doc = JSON.parse(sbom) as { metadata: { component: { purl: string; properties: Array<{ name: string; value: string }> } }; components: Array<{ name: string }> };
    expect(doc.metadata.component.purl).toBe(`pkg:deb/debian/${metadata.source.name!.replace('+', '%2B')}@${metadata.source.version}?arch=amd64`);
    const deb = join(SHARED_CACHE, 'kernel', 'downloads', `${metadata.source.name}_${metadata.source.version}_amd64.deb`);
    const configSha256 = (await run('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -xO ./boot/config-${release} | sha256sum`, 'sh', deb])).stdout.split(' ')[0];
    expect(doc.metadata.component.properties).toContainEqual({ name: 'hook:kernel:provider', value: 'debian-package' });
    expect(doc.metadata.component.properties).toContainEqual({ name: 'hook:kernel:config-sha256', value: configSha256 });
    const modules = listing.filter((p) => /\.ko(\.xz)?$/.test(p)).map((p) => p.replace(/^\.\//, '')).sort();
    expect(doc.components.map((c) => c.name).filter((n) => n.startsWith('lib/modules/')).sort()).toEqual(modules);
    // The firmware's Debian packages, as packages.
    expect((doc.components as Array<{ name: string; purl?: string }>).find((c) => c.name === 'firmware-qlogic')?.purl).toMatch(/^pkg:deb\/debian\/firmware-qlogic@[^?]+\?arch=all$/);

    // Byte-identical when built again from the same package.
    await buildKernelTarget({ workspaceRoot: root, kernelId: 'hook-debian-amd64', env });
    expect(await readFile(join(dist, 'sbom.cdx.json'), 'utf8')).toBe(sbom);
    expect(JSON.parse(await readFile(join(dist, 'kernel.json'), 'utf8')).files['kernel.tar']).toEqual(metadata.files['kernel.tar']);

    const init = [
      INIT_PRELUDE,
      'modprobe virtio_net && grep -q "^virtio_net " /proc/modules && echo HOOK-VIRTIO-NET-LOADED',
      'echo "HOOK-UNAME $(uname -r)"',
      INIT_END,
    ].join('\n');
    const initrd = await buildInitramfs(root, init, join(dist, 'kernel.tar'));
    const console = await bootQemu(join(dist, 'kernel'), initrd, 240_000, 1024);
    expect(console).toContain(`HOOK-UNAME ${release}`);
    expect(console).toContain('HOOK-VIRTIO-NET-LOADED');
  });
});
