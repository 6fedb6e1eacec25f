/**
 * A whole flavor build from dist/ inputs (a kernel directory and OCI image layouts made here),
 * checked the way a user would: the files upstream names, what the initramfs holds (unpacked
 * with the system cpio), byte-identical rebuilds, and nothing written on a mistake.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '@hook/process';
import { validateBomJson } from '@hook/sbom';
import { FLAVOR_TEMPLATE as TEMPLATE, flavorWorkspace } from '../test/flavor-workspace';
import { buildFlavor } from './build-flavor';

jest.setTimeout(120000);


function workspace(): Promise<string> {
  return flavorWorkspace(TEMPLATE, [
    {
      name: 'hook-init',
      ref: 'example.test/hook/hook-init:11111111-amd64',
      layers: [[{ name: 'init', mode: 0o755, content: '#!/bin/sh\n' }, { name: 'bin/', type: 'directory' }, { name: 'bin/sh', mode: 0o755, content: 'SH' }]],
      config: { Cmd: ['/usr/bin/svc'] },
    },
    { name: 'svc', ref: 'example.test/hook/svc:22222222-amd64', layers: [[{ name: 'usr/bin/svc', mode: 0o755, content: 'SH' }]], config: { Cmd: ['/usr/bin/svc'] } },
  ]);
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function listInitramfs(file: string): Promise<string[]> {
  const { stdout } = await run('sh', ['-c', `zstd -dc '${file}' | cpio -it --quiet`]);
  return stdout.split('\n');
}

describe('buildFlavor (integration)', () => {
  let root: string;
  beforeAll(async () => {
    root = await workspace();
  });

  it("writes upstream's files and an initramfs with the assembled tree", async () => {
    const result = await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_VERSION: '9.8.7' } });
    expect(result.outputId).toBe('x86_64');
    expect(readdirSync(join(root, 'dist/hook')).sort()).toEqual(['SHA256SUMS-x86_64', 'initramfs-x86_64', 'report-x86_64.html', 'sbom-x86_64.cdx.json', 'size-report-x86_64.md', 'vmlinuz-x86_64']);
    // The checksums `hook build` checks after Nx: every file of the build target, the tarball too.
    const sums = await run('sh', ['-c', 'sha256sum -c SHA256SUMS-x86_64'], { cwd: join(root, 'dist/hook') });
    expect(sums.stdout.split('\n').sort()).toEqual(['../hook_x86_64.tar.gz: OK', 'initramfs-x86_64: OK', 'report-x86_64.html: OK', 'sbom-x86_64.cdx.json: OK', 'size-report-x86_64.md: OK', 'vmlinuz-x86_64: OK']);
    expect(readFileSync(join(root, 'dist/hook/vmlinuz-x86_64'))).toEqual(Buffer.alloc(4096, 7));
    const names = await listInitramfs(join(root, 'dist/hook/initramfs-x86_64'));
    expect(names).toEqual(expect.arrayContaining(['init', 'bin/sh', 'lib/modules/6.12.9/modules.dep', 'containers/services/svc/config.json', 'etc/os-release', 'boot']));
    expect(names).not.toContain('boot/kernel');
    const tarball = await run('tar', ['-tzf', join(root, 'dist/hook_x86_64.tar.gz')]);
    expect(tarball.stdout.split('\n')).toEqual(['vmlinuz-x86_64', 'initramfs-x86_64', 'sbom-x86_64.cdx.json']);
    const osRelease = await run('sh', ['-c', `cd "$(mktemp -d)" && zstd -dc '${join(root, 'dist/hook/initramfs-x86_64')}' | cpio -id --quiet etc/os-release && cat etc/os-release`]);
    expect(osRelease.stdout).toBe('VERSION=9.8.7\nKERNEL=6.12.9');
    expect(readFileSync(join(root, 'dist/hook/size-report-x86_64.md'), 'utf8')).toContain('initramfs-x86_64');
  });

  it('writes a valid CycloneDX SBOM naming the files, the kernel with its modules and the images it runs', async () => {
    await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_VERSION: '9.8.7' } });
    const json = readFileSync(join(root, 'dist/hook/sbom-x86_64.cdx.json'), 'utf8');
    expect(await validateBomJson(json)).toBeNull();
    type Component = { type: string; name: string; version?: string; hashes?: Array<{ content: string }>; components?: Component[] };
    const doc = JSON.parse(json) as { metadata: { component: Component }; components: Component[] };
    expect(doc.metadata.component).toMatchObject({ type: 'operating-system', name: 'k', version: '9.8.7' });
    const file = (name: string) => doc.components.find((c) => c.name === name)?.hashes?.[0]?.content;
    expect(file('vmlinuz-x86_64')).toBe(sha256(join(root, 'dist/hook/vmlinuz-x86_64')));
    expect(file('initramfs-x86_64')).toBe(sha256(join(root, 'dist/hook/initramfs-x86_64')));
    const kernel = doc.components.find((c) => c.type === 'operating-system');
    expect(kernel).toMatchObject({ name: 'linux', version: '6.12.9' });
    expect(kernel?.components?.map((c) => c.name)).toEqual(['lib/modules/6.12.9/kernel/x.ko']);
    expect(doc.components.filter((c) => c.type === 'container').map((c) => c.name)).toEqual(['hook-init', 'svc']);
    // The tarball carries the same document.
    const inTarball = await run('tar', ['-xzOf', join(root, 'dist/hook_x86_64.tar.gz'), 'sbom-x86_64.cdx.json']);
    expect(`${inTarball.stdout}\n`).toBe(json);
  });

  it('the ISO format writes the ISO and its own SBOM: GRUB by Debian package, the files on the ISO, a link to the HookOS document', async () => {
    await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_VERSION: '9.8.7' } });
    await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_VERSION: '9.8.7' }, format: 'iso-efi-initrd' });
    const json = readFileSync(join(root, 'dist/hook/sbom-iso-x86_64.cdx.json'), 'utf8');
    expect(await validateBomJson(json)).toBeNull();
    type Component = { type: string; name: string; version?: string; purl?: string; hashes?: Array<{ content: string }>; externalReferences?: Array<{ type: string; url: string }> };
    const doc = JSON.parse(json) as { metadata: { component: Component }; components: Component[] };
    expect(doc.metadata.component).toMatchObject({ type: 'file', name: 'hook-x86_64.iso', hashes: [expect.objectContaining({ content: sha256(join(root, 'dist/hook/hook-x86_64.iso')) })] });
    const grub = await run('dpkg-query', ['-W', '-f', '${Version}', 'grub-efi-amd64-bin']);
    expect(doc.components.find((c) => c.name === 'grub-efi-amd64-bin')).toMatchObject({ version: grub.stdout, purl: expect.stringMatching(/^pkg:deb\/debian\/grub-efi-amd64-bin@/) });
    const onIso = (name: string) => doc.components.find((c) => c.name === name)?.hashes?.[0]?.content;
    expect(onIso('kernel')).toBe(sha256(join(root, 'dist/hook/vmlinuz-x86_64')));
    expect(onIso('initrd.img')).toBe(sha256(join(root, 'dist/hook/initramfs-x86_64')));
    expect(onIso('EFI/BOOT/BOOTX64.EFI')).toMatch(/^[0-9a-f]{64}$/);
    // The link names the serial number of the build target's document (the same assembly).
    const hookos = JSON.parse(readFileSync(join(root, 'dist/hook/sbom-x86_64.cdx.json'), 'utf8')) as { serialNumber: string };
    expect(doc.components.find((c) => c.type === 'operating-system')?.externalReferences).toEqual([
      expect.objectContaining({ type: 'bom', url: `urn:cdx:${hookos.serialNumber.replace('urn:uuid:', '')}/1#hookos%3Ak` }),
    ]);
    await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_VERSION: '9.8.7' }, format: 'iso-efi-initrd' });
    expect(readFileSync(join(root, 'dist/hook/sbom-iso-x86_64.cdx.json'), 'utf8')).toBe(json);
  });

  it('is reproducible: the same inputs give byte-identical files, with the segment cache empty or full', async () => {
    await rm(join(root, 'cache/initramfs-segments'), { recursive: true, force: true });
    const cold = await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: {} });
    expect(cold.initramfs?.segments).toMatchObject({ reused: 0 });
    const outputs = ['dist/hook/initramfs-x86_64', 'dist/hook_x86_64.tar.gz', 'dist/hook/sbom-x86_64.cdx.json'];
    const first = outputs.map((file) => sha256(join(root, file)));
    const warm = await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: {} });
    // One segment per image, the kernel's modules and the YAML's files: all taken from the cache.
    expect(warm.initramfs?.segments.count).toBeGreaterThanOrEqual(3);
    expect(warm.initramfs?.segments.reused).toBe(warm.initramfs?.segments.count);
    expect(outputs.map((file) => sha256(join(root, file)))).toEqual(first);
  });

  it('the development profile writes zstd -9 and no release tarball (hook run, build:dev); HOOK_INITRAMFS_LEVEL wins over it', async () => {
    const tarball = join(root, 'dist/hook_x86_64.tar.gz');
    const dev = await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: {}, initramfs: 'development' });
    expect(dev.initramfs).toMatchObject({ compression: 'zstd', level: 9, longWindow: 27 });
    expect(existsSync(tarball)).toBe(false);
    const sums = await run('sh', ['-c', 'sha256sum -c SHA256SUMS-x86_64'], { cwd: join(root, 'dist/hook') });
    expect(sums.stdout).not.toContain('tar.gz');
    const release = await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: {} });
    expect(release.initramfs).toMatchObject({ level: 19 });
    expect(existsSync(tarball)).toBe(true);
    expect(release.initramfs?.sha256).not.toBe(dev.initramfs?.sha256);
    const chosen = await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_INITRAMFS_LEVEL: '3' }, initramfs: 'development' });
    expect(chosen.initramfs).toMatchObject({ level: 3 });
  });

  it('names a missing image and writes nothing', async () => {
    const broken = await workspace();
    await rm(join(broken, 'dist/images/svc'), { recursive: true });
    await expect(buildFlavor({ workspaceRoot: broken, flavorId: 'k', env: {} })).rejects.toThrow(
      'image svc is not built for amd64 (no dist/images/svc/amd64/image.json); run: npx nx run svc:build-amd64',
    );
    expect(existsSync(join(broken, 'dist/hook'))).toBe(false);
  });

  it('names a missing kernel', async () => {
    const broken = await workspace();
    await rm(join(broken, 'dist/kernels'), { recursive: true });
    await expect(buildFlavor({ workspaceRoot: broken, flavorId: 'k', env: {} })).rejects.toThrow(
      'kernel k is not built (no dist/kernels/k/kernel.json); run: npx nx run kernel-k:build',
    );
  });

  it("names a kernel file that does not match kernel.json (a corrupted cache entry) and writes nothing", async () => {
    const broken = await workspace();
    const kernelJson = join(broken, 'dist/kernels/k/kernel.json');
    const kernel = readFileSync(join(broken, 'dist/kernels/k/kernel'));
    const metadata = { ...JSON.parse(readFileSync(kernelJson, 'utf8')), id: 'k', files: { kernel: { sha256: createHash('sha256').update(kernel).digest('hex'), size: kernel.length } } };
    writeFileSync(kernelJson, JSON.stringify(metadata));
    kernel.write('corrupted bytes', 100);
    writeFileSync(join(broken, 'dist/kernels/k/kernel'), kernel);
    await expect(buildFlavor({ workspaceRoot: broken, flavorId: 'k', env: {} })).rejects.toThrow(
      'dist/kernels/k/kernel does not match the sha256 recorded in dist/kernels/k/kernel.json (a corrupted cache entry or a changed file): run npx nx run kernel-k:build --skip-nx-cache',
    );
    expect(existsSync(join(broken, 'dist/hook'))).toBe(false);
  });

  it('names an image blob that does not match its digest and writes nothing', async () => {
    const broken = await workspace();
    const blobs = join(broken, 'dist/images/svc/amd64/blobs/sha256');
    const largest = readdirSync(blobs).sort((a, b) => readFileSync(join(blobs, b)).length - readFileSync(join(blobs, a)).length)[0];
    const bytes = readFileSync(join(blobs, largest));
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(join(blobs, largest), bytes);
    await expect(buildFlavor({ workspaceRoot: broken, flavorId: 'k', env: {} })).rejects.toThrow(
      `dist/images/svc/amd64/blobs/sha256/${largest} does not match its sha256 (a corrupted cache entry or a changed file): run npx nx run svc:build-amd64 --skip-nx-cache`,
    );
    expect(existsSync(join(broken, 'dist/hook'))).toBe(false);
  });
});
