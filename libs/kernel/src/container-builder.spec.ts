/** Unit tests: the make command lines both builders run, the container settings, the builder choice. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostDockerArch } from '@hook/layout';
import { UserError } from '@hook/log';
import type { DockerEngine } from '@hook/docker';
import { makeCommand, type MakeContext } from './build';
import { builderImageRef, chooseBuilder, containerSpec, ensureBuilderImage } from './container-builder';

const ctx = (over: Partial<MakeContext> = {}): MakeContext => ({
  sourceDir: '/c/kernel/src/debian-6.12.117-1',
  objectDir: '/c/kernel/build/k/debian-6.12.117-1',
  arch: 'x86_64',
  env: { KERNEL_BUILD_JOBS: '3', SOURCE_DATE_EPOCH: '1700000000' },
  ccacheDir: '/c/ccache',
  ...over,
});

describe('make command lines', () => {
  it('native x86_64 with ccache: O=, ARCH, -j, CC, then extra args and targets', () => {
    if (process.arch !== 'x64') return;
    const command = makeCommand(ctx(), ['modules_install'], ['INSTALL_MOD_PATH=/s/modules']);
    expect(command.argv).toEqual([
      'make', 'O=/c/kernel/build/k/debian-6.12.117-1', 'ARCH=x86_64', '-j3', 'CC=ccache gcc', 'HOSTCC=ccache gcc', 'INSTALL_MOD_PATH=/s/modules', 'modules_install',
    ]);
    expect(command.cwd).toBe('/c/kernel/src/debian-6.12.117-1');
    expect(command.env).toEqual({
      ARCH: 'x86_64',
      KBUILD_BUILD_USER: 'hook',
      KBUILD_BUILD_HOST: 'tinkerbell',
      KBUILD_BUILD_TIMESTAMP: 'Tue, 14 Nov 2023 22:13:20 GMT',
      CCACHE_DIR: '/c/ccache',
      CCACHE_BASEDIR: '/c/kernel/src/debian-6.12.117-1',
      CCACHE_NOHASHDIR: 'true',
      LC_ALL: 'C',
    });
  });

  it('arm64 cross without ccache: CROSS_COMPILE in args and env, no CC', () => {
    if (process.arch !== 'x64') return;
    const command = makeCommand(ctx({ arch: 'aarch64', env: { CCACHE: 'no', KERNEL_BUILD_JOBS: '2' } }), ['Image', 'modules', 'dtbs']);
    expect(command.argv).toEqual(['make', 'O=/c/kernel/build/k/debian-6.12.117-1', 'ARCH=arm64', '-j2', 'CROSS_COMPILE=aarch64-linux-gnu-', 'Image', 'modules', 'dtbs']);
    expect(command.env.CROSS_COMPILE).toBe('aarch64-linux-gnu-');
    expect(command.env.KBUILD_BUILD_TIMESTAMP).toBeUndefined();
  });
});

describe('container settings', () => {
  it('runs the same argv and variables, binds each dir at its own path, as this uid:gid, no network', () => {
    const command = makeCommand(ctx(), ['olddefconfig']);
    const spec = containerSpec('hook-kernel-builder:0123456789ab', command, ['/c/kernel/src/x', '/c/ccache', '/c/ccache']);
    expect(spec.Cmd).toEqual(['sh', '-c', 'exec "$@" 2>&1', 'sh', ...command.argv]);
    expect(spec.WorkingDir).toBe(command.cwd);
    expect(spec.Env).toContain('KBUILD_BUILD_USER=hook');
    expect(spec.Env).toContain('CCACHE_DIR=/c/ccache');
    expect(spec.HostConfig.Binds).toEqual(['/c/kernel/src/x:/c/kernel/src/x', '/c/ccache:/c/ccache']);
    expect(spec.User).toBe(`${process.getuid?.()}:${process.getgid?.()}`);
    expect(spec.NetworkDisabled).toBe(true);
  });

  it('tags the builder image by the Dockerfile and the base image', () => {
    const a = builderImageRef('FROM x\n', 'debian-base:1-amd64');
    expect(a).toMatch(/^hook-kernel-builder:[0-9a-f]{12}$/);
    expect(builderImageRef('FROM x\n', 'debian-base:2-amd64')).not.toBe(a);
    expect(builderImageRef('FROM y\n', 'debian-base:1-amd64')).not.toBe(a);
  });
});

describe('builder choice', () => {
  const engine = { endpoint: { host: 'unix:///var/run/docker.sock', source: 'default' } } as DockerEngine;
  const answers = async () => engine;
  const silent = async (): Promise<DockerEngine> => {
    throw new UserError('no Docker engine at unix:///var/run/docker.sock: start dockerd');
  };

  it('defaults to the container when an engine answers, to the host otherwise', async () => {
    await expect(chooseBuilder({}, answers)).resolves.toEqual({ builder: 'container', engine });
    await expect(chooseBuilder({}, silent)).resolves.toEqual({ builder: 'host' });
  });

  it('KERNEL_BUILDER=host never asks the engine; =container without one is a clear error', async () => {
    await expect(chooseBuilder({ KERNEL_BUILDER: 'host' }, answers)).resolves.toEqual({ builder: 'host' });
    await expect(chooseBuilder({ KERNEL_BUILDER: 'container' }, silent)).rejects.toThrow(/start dockerd .*or use KERNEL_BUILDER=host/);
    await expect(chooseBuilder({ KERNEL_BUILDER: 'vm' }, answers)).rejects.toThrow("KERNEL_BUILDER is 'vm'; use container or host");
  });
});

describe('the kernel builder image and the Debian base', () => {
  it('does not build the base itself: without its image.json in dist/ it names the Nx target to run', async () => {
    const root = await mkdtemp(join(tmpdir(), 'hook-builder-'));
    try {
      await mkdir(join(root, 'kernel'));
      await writeFile(join(root, 'kernel/Dockerfile'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n');
      // An engine that must not be asked anything: the missing base is found before.
      const engine = new Proxy({}, { get: () => { throw new Error('the engine was used'); } }) as DockerEngine;
      const arch = hostDockerArch();
      await expect(ensureBuilderImage(engine, root)).rejects.toThrow(
        new UserError(`image debian-base is not built for ${arch} (no dist/images/debian-base/${arch}/image.json); run: npx nx run debian-base:build-${arch}`),
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
