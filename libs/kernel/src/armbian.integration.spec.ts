/**
 * METHOD armbian against a real OCI registry on loopback (Debian's docker-registry via
 * @hook/testing), serving artifacts made the way Armbian publishes them: an ORAS artifact whose
 * file is a tar of .deb packages. The linux-image .deb is built here with dpkg-deb in Armbian's
 * layout (boot/vmlinuz-*, lib/modules/*, usr/lib/linux-image-<release> dtbs).
 * Debian packages: docker-registry, dpkg-dev, kmod.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@hook/process';
import { pushArtifact } from '@hook/oci';
import { startRegistry, type TestRegistry } from '@hook/testing';
import { buildKernelTarget, configureKernel } from './target';
import { makeWorkspace, removeWorkspace } from '../test/helpers';

jest.setTimeout(120_000);

const RELEASE = '6.12.9-current-meson64';

async function makeDeb(dir: string, name: string, files: Record<string, string>): Promise<string> {
  const pkg = join(dir, `pkg-${name}`);
  await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
  await writeFile(join(pkg, 'DEBIAN', 'control'), `Package: ${name}\nVersion: 26.2.1\nArchitecture: arm64\nMaintainer: t <t@t.invalid>\nDescription: test\n`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(pkg, path, '..'), { recursive: true });
    await writeFile(join(pkg, path), content);
  }
  const deb = join(dir, `${name}_26.2.1_arm64.deb`);
  await run('dpkg-deb', ['--root-owner-group', '-Zxz', '-b', pkg, deb]);
  return deb;
}

describe('Armbian kernel from an OCI registry (integration: docker-registry on loopback)', () => {
  let registry: TestRegistry | undefined;
  let dir: string | undefined;
  let root: string | undefined;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await mkdtemp(join(tmpdir(), 'hook-armbian-'));
    root = await makeWorkspace(['armbian-meson64-edge']);
    const image = await makeDeb(dir, `linux-image-current-meson64`, {
      [`boot/vmlinuz-${RELEASE}`]: 'ARM64-IMAGE',
      [`boot/System.map-${RELEASE}`]: 'ffff0000 T _text\n',
      [`lib/modules/${RELEASE}/kernel/drivers/net/ethernet/stmicro/stmmac.ko`]: 'net module',
      [`lib/modules/${RELEASE}/kernel/sound/soc/snd-soc-meson.ko`]: 'sound module',
      [`lib/modules/${RELEASE}/kernel/drivers/gpu/drm/panthor/panthor.ko`]: 'panthor module',
      [`lib/modules/${RELEASE}/kernel/drivers/gpu/drm/meson/meson-drm.ko`]: 'drm module',
      [`usr/lib/linux-image-${RELEASE}/amlogic/meson-g12b-odroid-n2.dtb`]: 'DTB',
    });
    const dtb = await makeDeb(dir, 'linux-dtb-current-meson64', { 'boot/dtb/x.dtb': 'x' });
    const bundle = join(dir, 'bundle');
    await mkdir(bundle);
    await run('cp', [image, dtb, bundle]);
    const tar = join(dir, 'kernel-meson64-edge.tar');
    await run('tar', ['-cf', tar, '-C', bundle, '.']);
    const repository = `${registry.host}/armbian/os/kernel-meson64-edge`;
    for (const tag of ['6.12.1-S1111-D2222-P3333-C4444-H5555-HK01ba-Vc222-B6666-R448a', '6.12.9-Sabcd-D1234-P0000-C0000-H0000-HK01ba-Vc222-B0000-R448a']) {
      await pushArtifact(`${repository}:${tag}`, [tar], 'application/vnd.unknown.artifact.v1');
    }
    await pushArtifact(`${repository}:latest`, [tar], 'application/vnd.unknown.artifact.v1');
    env = { ...process.env, CACHE_DIR: join(dir, 'cache'), ARMBIAN_BASE_ORAS_REF: `${registry.host}/armbian/os` };
  });

  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await removeWorkspace(root);
  });

  it('takes the newest Sxxxx tag, unpacks linux-image-*.deb from the tar of debs and trims as upstream', async () => {
    const metadata = await buildKernelTarget({ workspaceRoot: root as string, kernelId: 'armbian-meson64-edge', env });
    expect(metadata.source).toEqual({ provider: 'armbian', name: `${registry?.host}/armbian/os/kernel-meson64-edge`, version: expect.stringMatching(/^6\.12\.9-Sabcd-/) });
    expect(metadata.tag).toMatch(/^6\.12\.9-[0-9a-f]{8}-meson64-edge$/);
    expect(metadata.image).toBe(`ghcr.io/tinkerbell/hook/kernel/hook-kernel-armbian:${metadata.tag}`);
    expect(metadata.release).toBe(RELEASE);
    const dist = join(root as string, 'dist', 'kernels', 'armbian-meson64-edge');
    expect(await readFile(join(dist, 'kernel'), 'utf8')).toBe('ARM64-IMAGE');
    expect(await readFile(join(dist, 'System.map'), 'utf8')).toContain('_text');
    const modules = (await run('tar', ['-tf', join(dist, 'kernel.tar')])).stdout.split('\n');
    expect(modules).toContain(`./lib/modules/${RELEASE}/kernel/drivers/net/ethernet/stmicro/stmmac.ko`);
    expect(modules).toContain(`./lib/modules/${RELEASE}/kernel/drivers/gpu/drm/meson/meson-drm.ko`);
    expect(modules).toContain(`./lib/modules/${RELEASE}/modules.dep`);
    expect(modules.some((p) => p.includes('/kernel/sound/') || p.includes('/panthor/'))).toBe(false);
    const dtbs = (await run('tar', ['-tzf', join(dist, 'dtbs.tar.gz')])).stdout.split('\n');
    expect(dtbs).toContain('./amlogic/meson-g12b-odroid-n2.dtb');
    expect(await readFile(join(dist, 'modules-report.md'), 'utf8')).toMatch(/\| sound \| 1 \|/);
  });

  it('refuses a pinned ARMBIAN_KERNEL_VERSION the registry does not have, writing nothing to dist/', async () => {
    const fresh = await makeWorkspace(['armbian-meson64-edge']);
    try {
      await expect(
        buildKernelTarget({ workspaceRoot: fresh, kernelId: 'armbian-meson64-edge', env: { ...env, ARMBIAN_KERNEL_VERSION: '6.12.99-Sdead' } }),
      ).rejects.toThrow(/kernel-meson64-edge has no tag ARMBIAN_KERNEL_VERSION=6\.12\.99-Sdead; recent tags: 6\.12\.1-S1111.*6\.12\.9-Sabcd/);
      await expect(readdir(join(fresh, 'dist'))).rejects.toThrow();
    } finally {
      await removeWorkspace(fresh);
    }
  });

  it('refuses to configure an Armbian kernel, pointing to Armbian\'s configs', async () => {
    await expect(configureKernel({ workspaceRoot: root as string, kernelId: 'armbian-meson64-edge', env, mode: 'menuconfig' })).rejects.toThrow(
      /Armbian kernel: its configuration is Armbian's; see https:\/\/github.com\/armbian\/build.*config\/kernel/,
    );
  });
});
