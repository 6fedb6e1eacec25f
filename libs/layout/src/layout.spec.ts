import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cacheDir,
  dockerArchOf,
  hookosFiles,
  hostDockerArch,
  mediaManifestFile,
  mediumFiles,
  imageFolders,
  imageNames,
  kernelArchOf,
  nxOutput,
  parseDockerArch,
  readImageJson,
  readKernelJson,
  requireImageJson,
  writeImageJson,
  writeKernelJson,
  hookVersion,
  containersOciBase,
  type ImageMetadata,
  type KernelMetadata,
} from './index';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'hook-layout-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function files(entries: Record<string, string>) {
  for (const [path, text] of Object.entries(entries)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

describe('which folders under images/ are images', () => {
  it('takes folders with a Dockerfile or a base recipe (image.yaml), nothing else, sorted', () => {
    files({
      'images/zeta/Dockerfile': 'FROM x\n',
      'images/alpha/Dockerfile': 'FROM x\n',
      'images/debian-base/image.yaml': 'suite: trixie\n',
      'images/notes/README.md': 'not an image\n',
      'images/stray-file': '',
    });
    expect(imageFolders(root)).toEqual([
      { name: 'alpha', kind: 'dockerfile' },
      { name: 'debian-base', kind: 'base' },
      { name: 'zeta', kind: 'dockerfile' },
    ]);
    expect(imageNames(root, 'base')).toEqual(['debian-base']);
    expect(imageNames(root, 'dockerfile')).toEqual(['alpha', 'zeta']);
  });

  it('has no images in a workspace without images/', () => {
    expect(imageFolders(root)).toEqual([]);
  });
});

describe('dist/ names', () => {
  it("uses upstream's file names for an OUTPUT_ID", () => {
    expect(hookosFiles('x86_64')).toEqual({
      vmlinuz: 'dist/hook/vmlinuz-x86_64',
      initramfs: 'dist/hook/initramfs-x86_64',
      dtbs: 'dist/hook/dtbs-x86_64.tar.gz',
      releaseTarball: 'dist/hook_x86_64.tar.gz',
      sizeReport: 'dist/hook/size-report-x86_64.md',
      sbom: 'dist/hook/sbom-x86_64.cdx.json',
      hardware: 'dist/hook/hardware-x86_64.json',
      hardwareReport: 'dist/hook/hardware-x86_64.md',
      reportPage: 'dist/hook/report-x86_64.html',
      rootfsTar: 'dist/hook/hook_rootfs_x86_64.tar',
      rootfsFileList: 'dist/hook/hook_rootfs_x86_64.filelist',
      iso: 'dist/hook/hook-x86_64.iso',
      isoSbom: 'dist/hook/sbom-iso-x86_64.cdx.json',
      checksums: 'dist/hook/SHA256SUMS-x86_64',
    });
    expect(nxOutput('dist/kernels/k')).toBe('{workspaceRoot}/dist/kernels/k');
  });

  it("names a bootable medium's image and SBOM after upstream's image name, and the bootable's manifest after its id", () => {
    expect(mediumFiles('hook-bootable-grub-x86_64.img')).toEqual({
      image: 'dist/bootable/hook-bootable-grub-x86_64.img.xz',
      sbom: 'dist/bootable/sbom-hook-bootable-grub-x86_64.cdx.json',
    });
    expect(mediaManifestFile('rpi')).toBe('dist/bootable/rpi.json');
  });
});

describe('kernel.json and image.json', () => {
  it('reads back what was written', async () => {
    const kernel = { id: 'k', arch: 'x86_64', version: '6.12.1', image: 'example.test/k:6.12.1-abcdef01' } as KernelMetadata;
    mkdirSync(join(root, 'dist/kernels/k'), { recursive: true });
    await writeKernelJson(join(root, 'dist/kernels/k'), kernel);
    expect(await readKernelJson(root, 'k')).toEqual(kernel);
    const image = { name: 'dhcp', ref: 'example.test/dhcp:1a2b3c4d-amd64' } as ImageMetadata;
    mkdirSync(join(root, 'dist/images/dhcp/amd64'), { recursive: true });
    await writeImageJson(join(root, 'dist/images/dhcp/amd64'), image);
    expect(await requireImageJson(root, 'dhcp', 'amd64')).toEqual(image);
  });

  it('names the target to run when a kernel or an image is not built', async () => {
    await expect(readKernelJson(root, 'k')).rejects.toThrow('kernel k is not built (no dist/kernels/k/kernel.json); run: npx nx run kernel-k:build');
    await expect(requireImageJson(root, 'dhcp', 'arm64')).rejects.toThrow(
      'image dhcp is not built for arm64 (no dist/images/dhcp/arm64/image.json); run: npx nx run dhcp:build-arm64',
    );
    expect(await readImageJson(join(root, 'nowhere'))).toBeUndefined();
  });
});

describe('architectures and defaults', () => {
  it('maps kernel and Docker names both ways, and the host', () => {
    expect(dockerArchOf('x86_64')).toBe('amd64');
    expect(kernelArchOf('arm64')).toBe('aarch64');
    expect(parseDockerArch('aarch64')).toBe('arm64');
    expect(() => parseDockerArch('riscv64')).toThrow(/unsupported architecture "riscv64"/);
    expect(hostDockerArch('x64')).toBe('amd64');
    expect(() => hostDockerArch('ppc64')).toThrow('Host architecture ppc64 is not supported; Hook builds on amd64 or arm64 hosts');
  });

  it('takes a set variable over the default, an empty one as unset', () => {
    expect(hookVersion({})).toBe('0.11.1');
    expect(hookVersion({ HOOK_VERSION: '' })).toBe('0.11.1');
    expect(hookVersion({ HOOK_VERSION: '1.2.3' })).toBe('1.2.3');
    expect(containersOciBase({ HOOK_LK_CONTAINERS_OCI_BASE: 'registry.test/x/' })).toBe('registry.test/x/');
  });

  it('puts the cache in the workspace unless CACHE_DIR names another place, relative to the workspace or absolute', () => {
    expect(cacheDir('/w', {}, 'kernel', 'src')).toBe('/w/cache/kernel/src');
    expect(cacheDir('/w', { CACHE_DIR: '' })).toBe('/w/cache');
    expect(cacheDir('/w', { CACHE_DIR: '../shared' }, 'debian')).toBe('/shared/debian');
    expect(cacheDir('/w', { CACHE_DIR: '/var/cache/hook' }, 'ccache')).toBe('/var/cache/hook/ccache');
  });
});
