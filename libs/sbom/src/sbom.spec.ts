import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import type { ImageMetadata, KernelMetadata } from '@hook/layout';
import { OciLayout } from '@hook/oci';
import { buildTestImage } from '@hook/oci/testing';
import {
  dpkgDatabase,
  hookosBom,
  imageBom,
  kernelBom,
  listKernelModules,
  mediumBom,
  parseDpkgStatus,
  readImageContents,
  serializeBom,
  validateBomJson,
} from './index';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const STATUS = `Package: busybox-static
Status: install ok installed
Architecture: amd64
Source: busybox (1:1.37.0-6)
Version: 1:1.37.0-6+b1
Description: standalone rescue shell
 with tons of builtin utilities

Package: dhcpcd-base
Status: install ok installed
Architecture: amd64
Source: dhcpcd
Version: 1:10.1.0-11

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: libc6
Status: install ok installed
Multi-Arch: same
Architecture: amd64
Source: glibc
Version: 2.41-12
`;

const LISTS = new Map([
  ['var/lib/dpkg/info/busybox-static.list', '/.\n/bin\n/bin/busybox\n/usr/share/doc/busybox-static\n'],
  ['var/lib/dpkg/info/dhcpcd-base.list', '/.\n/usr/sbin/dhcpcd\n/usr/lib/dhcpcd/dev/udev.so\n'],
  ['var/lib/dpkg/info/libc6:amd64.list', '/.\n/lib/x86_64-linux-gnu/libc.so.6\n'],
]);

const imageMetadata = (digest: string): ImageMetadata => ({
  name: 'dhcp',
  ref: 'example.test/hook/linuxkit/dhcp:1a2b3c4d-amd64',
  tag: '1a2b3c4d-amd64',
  hash: '1a2b3c4d'.padEnd(64, '0'),
  arch: 'amd64',
  platform: 'linux/amd64',
  digest,
  imageId: `sha256:${'c'.repeat(64)}`,
  size: 1234,
  inputs: { directory: 'images/dhcp', directoryHash: '0'.repeat(64), dependencies: {} },
  source: 'built',
});

const kernelMetadata: KernelMetadata = {
  id: 'hook-debian-amd64',
  method: 'debian',
  arch: 'x86_64',
  release: '6.12.57+deb13-amd64',
  version: '6.12.57',
  tag: '6.12.57-0123abcd-amd64',
  image: 'example.test/hook/kernel/hook-kernel-debian:6.12.57-0123abcd-amd64',
  source: { provider: 'debian-package', name: 'linux-image-6.12.57+deb13-amd64', version: '6.12.57-1' },
  files: { kernel: { sha256: sha('kernel'), size: 6 }, 'kernel.tar': { sha256: sha('tar'), size: 3 } },
};

type Doc = {
  serialNumber: string;
  metadata: { component: { name: string; version?: string; purl?: string; properties?: Array<{ name: string; value: string }> } };
  components: Array<{ type: string; name: string; version?: string; purl?: string; hashes?: Array<{ content: string }>; components?: Doc['components'] }>;
};

const dir = useTempDir('hook-sbom-');

describe('dpkg database', () => {
  it('lists installed packages with versions and source packages, and who installed which path (merged /usr)', () => {
    const packages = parseDpkgStatus(STATUS);
    expect(packages.map((p) => `${p.name}=${p.version}`)).toEqual(['busybox-static=1:1.37.0-6+b1', 'dhcpcd-base=1:10.1.0-11', 'libc6=2.41-12']);
    expect(packages[0]).toMatchObject({ architecture: 'amd64', source: 'busybox', sourceVersion: '1:1.37.0-6' });
    const db = dpkgDatabase(STATUS, LISTS);
    expect(db.owners.get('usr/bin/busybox')).toBe('busybox-static');
    expect(db.owners.get('usr/lib/x86_64-linux-gnu/libc.so.6')).toBe('libc6');
    expect(db.owners.get('usr/sbin/dhcpcd')).toBe('dhcpcd-base');
  });
});

describe('an image document', () => {
  async function image(layers: Parameters<typeof buildTestImage>[1]['layers']) {
    const layout = await OciLayout.create(join(dir.path, 'layout'));
    const built = await buildTestImage(layout, { layers, ref: 'example.test/hook/linuxkit/dhcp:1a2b3c4d-amd64' });
    return { contents: await readImageContents(join(dir.path, 'layout'), 'example.test/hook/linuxkit/dhcp:1a2b3c4d-amd64'), digest: built.manifestDescriptor.digest };
  }

  it('puts each copied file under the Debian package it came from, with hashes, and is valid CycloneDX 1.6', async () => {
    const { contents, digest } = await image([
      [
        { name: 'usr/bin/busybox', content: 'busybox' },
        { name: 'usr/sbin/dhcpcd', content: 'dhcpcd' },
        { name: 'usr/lib/x86_64-linux-gnu/libc.so.6', content: 'libc' },
        { name: 'etc/ip/dhcp.sh', content: '#!/bin/sh' },
        { name: 'usr/bin/sh', type: 'symlink', linkname: 'busybox' },
        { name: 'old', content: 'gone' },
      ],
      [{ name: '.wh.old', content: '' }],
    ]);
    expect(contents.files.map((f) => f.path)).toEqual(['etc/ip/dhcp.sh', 'usr/bin/busybox', 'usr/lib/x86_64-linux-gnu/libc.so.6', 'usr/sbin/dhcpcd']);
    const json = serializeBom(imageBom({ metadata: imageMetadata(digest), files: contents.files, dpkg: dpkgDatabase(STATUS, LISTS), packageSource: 'builder-stage' }));
    expect(await validateBomJson(json)).toBeNull();
    const doc = JSON.parse(json) as Doc;
    expect(doc.metadata.component).toMatchObject({ name: 'dhcp', version: '1a2b3c4d-amd64' });
    expect(doc.metadata.component.purl).toBe(`pkg:oci/dhcp@${digest}?arch=amd64&repository_url=example.test%2Fhook%2Flinuxkit%2Fdhcp&tag=1a2b3c4d-amd64`);
    const busybox = doc.components.find((c) => c.name === 'busybox-static')!;
    expect(busybox).toMatchObject({ type: 'library', version: '1:1.37.0-6+b1', purl: 'pkg:deb/debian/busybox-static@1:1.37.0-6+b1?arch=amd64' });
    expect(busybox.components).toEqual([expect.objectContaining({ type: 'file', name: '/usr/bin/busybox', hashes: [expect.objectContaining({ content: sha('busybox') })] })]);
    expect(doc.components.find((c) => c.name === 'libc6')?.components?.map((c) => c.name)).toEqual(['/usr/lib/x86_64-linux-gnu/libc.so.6']);
    // Hook's own script belongs to no package; a package that left no file in the image is not listed.
    expect(doc.components.find((c) => c.name === '/etc/ip/dhcp.sh')).toMatchObject({ type: 'file' });
    expect(doc.components.map((c) => c.name)).not.toContain('removed-one');
    expect(json).not.toContain('/old');
  });

  it('is byte-identical when made again from the same image, and changes its serial number with the content', async () => {
    const { contents, digest } = await image([[{ name: 'usr/bin/busybox', content: 'busybox' }]]);
    const make = () => serializeBom(imageBom({ metadata: imageMetadata(digest), files: contents.files, dpkg: dpkgDatabase(STATUS, LISTS), packageSource: 'builder-stage' }));
    const first = make();
    expect(make()).toBe(first);
    expect(first).not.toMatch(/timestamp/);
    const other = serializeBom(imageBom({ metadata: { ...imageMetadata(digest), tag: 'ffffffff-amd64' }, files: contents.files, packageSource: 'unknown' }));
    expect((JSON.parse(other) as Doc).serialNumber).not.toBe((JSON.parse(first) as Doc).serialNumber);
  });

  it('lists every installed package of an image that carries its own dpkg database (the Debian base)', async () => {
    const { contents, digest } = await image([
      [
        { name: 'var/lib/dpkg/status', content: STATUS },
        ...[...LISTS].map(([name, content]) => ({ name, content })),
        { name: 'usr/bin/busybox', content: 'busybox' },
      ],
    ]);
    expect(contents.dpkg?.packages.size).toBe(3);
    const json = serializeBom(imageBom({ metadata: imageMetadata(digest), files: contents.files, dpkg: contents.dpkg, packageSource: 'image' }));
    expect(await validateBomJson(json)).toBeNull();
    expect((JSON.parse(json) as Doc).components.filter((c) => c.type === 'library').map((c) => c.name)).toEqual(['busybox-static', 'dhcpcd-base', 'libc6']);
  });
});

describe('a kernel document', () => {
  it('names version, provider, config hash and every module with its hash', async () => {
    const modules = join(dir.path, 'modules/lib/modules/6.12.57+deb13-amd64/kernel/drivers/net');
    mkdirSync(modules, { recursive: true });
    writeFileSync(join(modules, 'virtio_net.ko.xz'), 'virtio');
    writeFileSync(join(dir.path, 'modules/lib/modules/6.12.57+deb13-amd64/modules.dep'), '');
    const listed = await listKernelModules(join(dir.path, 'modules'));
    expect(listed).toEqual([{ path: 'lib/modules/6.12.57+deb13-amd64/kernel/drivers/net/virtio_net.ko.xz', sha256: sha('virtio'), size: 6 }]);
    const json = serializeBom(kernelBom({ metadata: kernelMetadata, configSha256: sha('config'), modules: listed }));
    expect(await validateBomJson(json)).toBeNull();
    const doc = JSON.parse(json) as Doc;
    expect(doc.metadata.component).toMatchObject({ name: 'linux', version: '6.12.57', purl: 'pkg:deb/debian/linux-image-6.12.57%2Bdeb13-amd64@6.12.57-1?arch=amd64' });
    expect(doc.metadata.component.properties).toEqual(expect.arrayContaining([{ name: 'hook:kernel:config-sha256', value: sha('config') }, { name: 'hook:kernel:provider', value: 'debian-package' }]));
    expect(doc.components.map((c) => c.name)).toEqual(['kernel', 'kernel.tar', listed[0]!.path]);
  });
});

describe('a HookOS document', () => {
  it('names its kernel with the modules it carries (hashes from the kernel document) and its images by digest', async () => {
    const kernelJson = serializeBom(
      kernelBom({
        metadata: kernelMetadata,
        configSha256: sha('config'),
        modules: [{ path: 'lib/modules/6.12.57+deb13-amd64/kernel/virtio_net.ko.xz', sha256: sha('virtio'), size: 6 }],
        moduleHardware: { 'kernel/virtio_net.ko.xz': { class: 'network', ids: ['virtio:d00000001v*', '1af4:1000'] } },
      }),
    );
    const digest = `sha256:${'d'.repeat(64)}`;
    const json = serializeBom(
      hookosBom({
        flavorId: 'hook-debian-amd64',
        outputId: 'x86_64-debian',
        version: '0.11.1',
        arch: 'x86_64',
        kernel: kernelMetadata,
        modules: ['usr/lib/modules/6.12.57+deb13-amd64/kernel/virtio_net.ko.xz', 'usr/lib/modules/6.12.57+deb13-amd64/kernel/extra.ko.xz'],
        kernelBomJson: kernelJson,
        images: [imageMetadata(digest)],
        files: [{ name: 'vmlinuz-x86_64-debian', sha256: sha('kernel'), size: 6 }],
      }),
    );
    expect(await validateBomJson(json)).toBeNull();
    const doc = JSON.parse(json) as Doc;
    expect(doc.metadata.component).toMatchObject({ name: 'hook-debian-amd64', version: '0.11.1' });
    const kernel = doc.components.find((c) => c.type === 'operating-system')!;
    expect(kernel.components?.find((m) => m.name.endsWith('virtio_net.ko.xz'))?.hashes?.[0]?.content).toBe(sha('virtio'));
    expect(kernel.components).toHaveLength(2);
    // What a module drives, carried over from the kernel document (hardware index).
    const virtio = kernel.components?.find((m) => m.name.endsWith('virtio_net.ko.xz')) as { properties?: unknown[] };
    expect(virtio.properties).toEqual(expect.arrayContaining([{ name: 'hook:hardware:class', value: 'network' }, { name: 'hook:hardware:ids', value: 'virtio:d00000001v*, 1af4:1000' }]));
    expect((kernel as { properties?: unknown[] }).properties).toContainEqual({ name: 'hook:kernel:config-sha256', value: sha('config') });
    expect(doc.components.find((c) => c.type === 'container')).toMatchObject({ name: 'dhcp', hashes: [expect.objectContaining({ content: 'd'.repeat(64) })] });
  });

  it('fails validation when the document breaks the schema (the check can fail)', async () => {
    const json = serializeBom(kernelBom({ metadata: kernelMetadata, modules: [] }));
    const broken = json.replace('"type": "operating-system"', '"type": "kernel"');
    expect(broken).not.toBe(json);
    expect(await validateBomJson(broken)).not.toBeNull();
  });
});

describe('a boot medium document', () => {
  const hookosJson = serializeBom(
    hookosBom({ flavorId: 'hook-debian-amd64', outputId: 'x86_64', version: '0.11.1', arch: 'x86_64', kernel: kernelMetadata, modules: [], images: [], files: [] }),
  );
  const medium = () =>
    mediumBom({
      kind: 'iso',
      medium: { name: 'hook-x86_64.iso', sha256: sha('iso'), size: 3 },
      flavorId: 'hook-debian-amd64',
      outputId: 'x86_64',
      version: '0.11.1',
      arch: 'x86_64',
      hookosBomJson: hookosJson,
      files: [
        { name: 'EFI/BOOT/BOOTX64.EFI', sha256: sha('grub'), size: 4 },
        { name: 'kernel', sha256: sha('kernel'), size: 6 },
      ],
      packages: [{ name: 'grub-efi-amd64-bin', version: '2.06-13+deb12u2', architecture: 'amd64' }],
    });

  it('names the medium by hash, the files on it, the GRUB package, and links the HookOS document by serial number', async () => {
    const json = serializeBom(medium());
    expect(await validateBomJson(json)).toBeNull();
    const doc = JSON.parse(json) as Doc & { metadata: { component: { hashes: Array<{ content: string }> } } };
    expect(doc.metadata.component).toMatchObject({ name: 'hook-x86_64.iso', hashes: [{ alg: 'SHA-256', content: sha('iso') }] });
    expect(doc.components.find((c) => c.name === 'grub-efi-amd64-bin')).toMatchObject({ purl: 'pkg:deb/debian/grub-efi-amd64-bin@2.06-13+deb12u2?arch=amd64' });
    expect(doc.components.find((c) => c.name === 'EFI/BOOT/BOOTX64.EFI')?.hashes?.[0]?.content).toBe(sha('grub'));
    const serial = (JSON.parse(hookosJson) as { serialNumber: string }).serialNumber.replace('urn:uuid:', '');
    const hookos = doc.components.find((c) => c.type === 'operating-system') as unknown as { externalReferences: Array<{ type: string; url: string }> };
    expect(hookos.externalReferences).toEqual([expect.objectContaining({ type: 'bom', url: `urn:cdx:${serial}/1#hookos%3Ahook-debian-amd64` })]);
  });

  it('is byte-identical when made again', () => {
    expect(serializeBom(medium())).toBe(serializeBom(medium()));
  });
});
