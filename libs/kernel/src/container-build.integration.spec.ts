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
import { BASE_IMAGE_NAME, buildContainerTarget } from '@hook/containers';
import type { DockerEngine } from '@hook/docker';
import { ensureDockerd, type TestDockerd } from '@hook/docker/testing';
import { hostDockerArch } from '@hook/layout';
import { UserError } from '@hook/log';
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
    expect(metadata.builder).toBe('container');
    const dist = join(root, 'dist', 'kernels', ID);
    const written = JSON.parse(await readFile(join(dist, 'kernel.json'), 'utf8'));
    expect(written).toEqual(metadata);
    expect(written.builder).toBe('container');
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
