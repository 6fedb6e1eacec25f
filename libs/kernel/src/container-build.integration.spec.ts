/**
 * Builds the tiny x86_64 kernel with KERNEL_BUILDER=container (the kernel builder image from
 * kernel/Dockerfile FROM the project's Debian base, make in containers with the cache dirs
 * bind-mounted), then boots it in QEMU with its modules. Needs a Docker engine (ensureDockerd
 * starts Debian's dockerd when none answers) holding, or able to make, the Debian base image;
 * plus busybox-static cpio qemu-system-x86. The kernel gets its own id so its object dir is not
 * the host build's: a cold tiny compile, minutes on 2 cores (ccache hits on reruns).
 */
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildContainerTarget } from '@hook/containers';
import type { DockerEngine } from '@hook/docker';
import { ensureDockerd, type TestDockerd } from '@hook/docker/testing';
import { BASE_IMAGE_NAME, hostDockerArch } from '@hook/layout';
import { UserError } from '@hook/log';
import { validateBomJson } from '@hook/sbom';
import { runMake, type MakeContext } from './build';
import { containerRunner, ensureBuilderImage } from './container-builder';
import { buildKernelTarget } from './target';
import { REPO_ROOT, SHARED_CACHE, bootTinyKernelWithModule, makeWorkspace, removeWorkspace } from '../test/helpers';

jest.setTimeout(45 * 60_000);

const ID = 'test-tiny-amd64-container';

/**
 * A workspace with the kernel definitions, the tiny kernel under its own id, and the Debian base
 * built into its dist/ first, as Nx runs debian-base:build-<host arch> before a source kernel.
 */
async function workspace(engine: DockerEngine): Promise<string> {
  const dir = await makeWorkspace([]);
  await cp(join(REPO_ROOT, 'kernel', 'test-tiny-amd64'), join(dir, 'kernel', ID), { recursive: true });
  await cp(join(REPO_ROOT, 'images', 'debian-base'), join(dir, 'images', 'debian-base'), { recursive: true });
  await buildContainerTarget({ workspaceRoot: dir, imageName: BASE_IMAGE_NAME, arch: hostDockerArch(), env: { ...process.env }, engine });
  return dir;
}

describe('tiny kernel built in the kernel builder container (integration: docker + QEMU)', () => {
  let root: string | undefined;
  let dockerd: TestDockerd | undefined;
  beforeAll(async () => {
    dockerd = await ensureDockerd();
  });
  afterAll(async () => {
    await removeWorkspace(root);
    await dockerd?.stop();
  });

  it('builds with KERNEL_BUILDER=container, records the builder and boots to the serial marker', async () => {
    root = await workspace(dockerd!.engine);
    const env = { ...process.env, CACHE_DIR: SHARED_CACHE, KERNEL_SOURCE: 'debian', SOURCE_DATE_EPOCH: '1700000000', KERNEL_BUILDER: 'container' };
    const metadata = await buildKernelTarget({ workspaceRoot: root, kernelId: ID, env });

    expect(metadata.version).toBe('6.12.117');
    expect(metadata.tag).toMatch(/^6\.12\.117-[0-9a-f]{8}$/);
    expect(metadata.image).toBe(`ghcr.io/tinkerbell/hook/kernel/hook-kernel:${metadata.tag}`);
    expect(metadata.source).toEqual({ provider: 'debian', version: '6.12.117-1', name: 'linux-source-6.12' });
    expect(metadata.builder).toBe('container');
    const dist = join(root, 'dist', 'kernels', ID);
    const written = JSON.parse(await readFile(join(dist, 'kernel.json'), 'utf8'));
    expect(written).toEqual(metadata);
    expect(written.builder).toBe('container');
    expect(Object.keys(metadata.files).sort()).toEqual(['System.map', 'dtbs.tar.gz', 'firmware-report.md', 'hardware.json', 'kernel', 'kernel.tar']);
    // The tiny kernel has no network or storage modules: nothing to ship, and the report says so.
    expect(await readFile(join(dist, 'firmware-report.md'), 'utf8')).toContain('0 files declared by the kept modules');
    // Its one module, virtio_blk, claims virtio block devices in the hardware index.
    const index = JSON.parse(await readFile(join(dist, 'hardware.json'), 'utf8'));
    expect(index.modules.virtio_blk).toMatchObject({ kept: true, class: 'storage' });
    expect(index.ids).toContainEqual([expect.stringMatching(/^virtio:d00000002v/), 'virtio_blk']);
    // The SBOM: valid CycloneDX, Debian's source package as purl, the hash of the .config built with.
    const sbom = JSON.parse(await readFile(join(dist, 'sbom.cdx.json'), 'utf8'));
    expect(await validateBomJson(JSON.stringify(sbom))).toBeNull();
    expect(sbom.metadata.component).toMatchObject({ name: 'linux', version: '6.12.117', purl: 'pkg:deb/debian/linux-source-6.12@6.12.117-1?arch=all' });
    expect(sbom.metadata.component.properties).toContainEqual({ name: 'hook:kernel:defconfig', value: 'kernel/configs/tiny-6.12.y-x86_64' });
    expect(sbom.metadata.component.properties.find((p: { name: string }) => p.name === 'hook:kernel:config-sha256')?.value).toMatch(/^[0-9a-f]{64}$/);
    // make ran as this uid:gid: the objects are owned as after a host build.
    const objects = await stat(join(SHARED_CACHE, 'kernel', 'build', ID, 'debian-6.12.117-1', 'vmlinux'));
    expect(objects.uid).toBe(process.getuid?.());

    const console = await bootTinyKernelWithModule(root, dist);
    expect(console).toContain(`HOOK-UNAME ${metadata.release}`);
    expect(console).toContain('HOOK-MODULE-LOADED');
    expect(console).toContain('HOOK-TINY-BOOTED');
  });

  it('a failing make in the container is a UserError ending with make\'s own last lines', async () => {
    const engine = dockerd!.engine;
    const image = await ensureBuilderImage(engine, root ?? (root = await workspace(engine)));
    const dir = await mkdtemp(join(tmpdir(), 'hook-kernel-failing-make-'));
    try {
      const ctx: MakeContext = { sourceDir: dir, objectDir: join(dir, 'o'), arch: 'x86_64', env: { CCACHE: 'no' }, ccacheDir: join(dir, 'c') };
      ctx.runner = containerRunner(engine, image, [dir]);
      const containers = async () => (await engine.docker.listContainers({ all: true, filters: { ancestor: [image] } })).map((c) => c.Id);
      const before = await containers();
      const failure = runMake(ctx, ['no-such-target'], 'make no-such-target');
      await expect(failure).rejects.toBeInstanceOf(UserError);
      await expect(failure).rejects.toThrow(/^make no-such-target failed for x86_64:\n(.|\n)*No targets specified and no makefile found|No rule to make target/);
      // The make container is removed (another build may be running its own meanwhile).
      expect((await containers()).filter((id) => !before.includes(id))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
