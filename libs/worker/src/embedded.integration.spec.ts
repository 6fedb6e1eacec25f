/**
 * Embedded images end to end on the build host: images.txt -> the storage tarball hook-embedded
 * carries (libs/containers prepareEmbeddedContext, a dockerd of its own), one image from the
 * build host's engine and one from a registry; then the image's real init.d script
 * (001-images-mount.sh, busybox sh) unpacks and bind-mounts it, and hook-docker's dockerd on that
 * mount lists and runs the images, with no registry involved.
 */
import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EMBEDDED_STORAGE_TAR, prepareEmbeddedContext } from '@hook/containers';
import { run } from '@hook/process';
import { type TestRegistry, startRegistry } from '@hook/testing';
import { type HookDocker, buildStandInWorker, runScript, startHookDocker } from './index';

const MOUNT_SCRIPT = resolve(__dirname, '../../../images/hook-embedded/images-mount.sh');

let source: HookDocker | undefined;
let booted: HookDocker | undefined;
let registry: TestRegistry | undefined;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hook-embedded-test-'));
  registry = await startRegistry({ startTimeoutMs: 40_000 });
  source = await startHookDocker({ cmdline: '' });
}, 120_000);

afterAll(async () => {
  await booted?.stop();
  await source?.stop();
  await registry?.stop();
  if (dir) {
    // the bind mount, and dockerd's own mount of its data-root if it left one
    for (let i = 0; i < 3; i++) await run('umount', ['-l', join(dir, 'run-images')], { allowFailure: true });
    await rm(dir, { recursive: true, force: true });
  }
}, 90_000);

describe('embedded images (integration)', () => {
  it('builds the storage from images.txt (engine and registry), and a dockerd on the mounted copy has the images', async () => {
    const fromRegistry = `${registry!.host}/hook-test/standin-registry:1`;
    await buildStandInWorker({ ref: 'hook-test/standin-engine:1', dockerHost: source!.dockerHost });
    await buildStandInWorker({ ref: fromRegistry, dockerHost: source!.dockerHost });
    await source!.docker(['push', fromRegistry]);
    await source!.docker(['rmi', fromRegistry]);

    const context = join(dir, 'context');
    await mkdir(context);
    await run('sh', ['-c', 'printf "%s\\n%s" "$1" "$2" >"$3"', 'x', 'hook-test/standin-engine:1 127.0.0.1/embedded/standin:1', fromRegistry, join(context, 'images.txt')]);
    const started = Date.now();
    await prepareEmbeddedContext(context, 'amd64', { ...process.env, DOCKER_HOST: source!.dockerHost });
    const tarPath = join(context, EMBEDDED_STORAGE_TAR);
    const size = (await stat(tarPath)).size;
    console.log(`embedded storage: 2 images, ${(size / 1e6).toFixed(1)} MB tar, built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(size).toBeGreaterThan(1e6);

    // Boot: the init.d script of hook-embedded, with its paths moved under the test dir.
    await copyFile(tarPath, join(dir, 'embedded-images.tar'));
    const mounted = await runScript(MOUNT_SCRIPT, [], {
      ...process.env,
      PATH: source!.path,
      HOOK_EMBEDDED_TAR: join(dir, 'embedded-images.tar'),
      HOOK_EMBEDDED_DIR: join(dir, 'etc-embedded-images'),
      HOOK_IMAGES_MOUNT: join(dir, 'run-images'),
    });
    expect(mounted.exitCode).toBe(0);
    expect(mounted.output).toContain(`mounted on ${join(dir, 'run-images')}`);
    await expect(stat(join(dir, 'embedded-images.tar'))).rejects.toThrow();

    booted = await startHookDocker({ cmdline: '', dataRoot: join(dir, 'run-images') });
    const listed = (await booted.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n').sort();
    expect(listed).toEqual(['127.0.0.1/embedded/standin:1', fromRegistry, 'hook-test/standin-engine:1'].sort());
    const ran = await booted.docker(['run', '--rm', '--network', 'none', '--entrypoint', '/bin/echo', '127.0.0.1/embedded/standin:1', 'embedded-ok']);
    expect(ran.stdout).toBe('embedded-ok');
  }, 240_000);

  it('the init.d script does nothing without embedded images (an empty tar file)', async () => {
    const context = join(dir, 'empty');
    await mkdir(context);
    await prepareEmbeddedContext(context, 'amd64', process.env);
    expect((await stat(join(context, EMBEDDED_STORAGE_TAR))).size).toBe(0);
    const result = await runScript(MOUNT_SCRIPT, [], {
      ...process.env,
      HOOK_EMBEDDED_TAR: join(context, EMBEDDED_STORAGE_TAR),
      HOOK_EMBEDDED_DIR: join(context, 'etc'),
      HOOK_IMAGES_MOUNT: join(context, 'mnt'),
    });
    expect(result.exitCode).toBe(0);
    expect(result.output).toBe('');
    await expect(stat(join(context, 'mnt'))).rejects.toThrow();
  });
});
