/**
 * Publishing a kernel (DO_PUSH, FORCE_BUILD_KERNEL, EXPORT_KERNEL_IMAGE) to a real registry on
 * loopback (Debian's docker-registry through @hook/testing).
 * Debian packages: docker-registry.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { run } from '@hook/process';
import { OciLayout, RegistryClient, parseNormalizedNamed, type ImageManifest } from '@hook/oci';
import { startRegistry, type TestRegistry } from '@hook/testing';
import { writeKernelOutputs } from './outputs';
import { publishKernel } from './publish';

jest.setTimeout(60_000);

describe('kernel publishing (integration: docker-registry on loopback)', () => {
  let registry: TestRegistry | undefined;
  let root: string | undefined;
  afterAll(async () => {
    await registry?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('pushes kernel, kernel.tar, System.map and dtbs.tar.gz at / in one layer with the architecture set', async () => {
    registry = await startRegistry();
    root = await mkdtemp(join(tmpdir(), 'hook-kernel-publish-'));
    const src = join(root, 'src');
    await mkdir(join(src, 'modules', 'lib', 'modules', '6.12.1'), { recursive: true });
    await writeFile(join(src, 'Image'), 'IMAGE');
    await writeFile(join(src, 'System.map'), 'MAP');
    const image = `${registry.host}/hook/kernel/hook-kernel:6.12.1-0123abcd`;
    const metadata = await writeKernelOutputs(
      root,
      { image: join(src, 'Image'), modulesRoot: join(src, 'modules'), systemMap: join(src, 'System.map') },
      { id: 'k', method: 'default', arch: 'aarch64', release: '6.12.1', version: '6.12.1', tag: '6.12.1-0123abcd', image, source: { provider: 'tarball', version: '6.12.1' } },
      0,
    );
    const env = { DO_PUSH: 'yes', EXPORT_KERNEL_IMAGE: 'yes' };
    await publishKernel(root, metadata, env);

    const client = new RegistryClient({ env: {} });
    const fetched = await client.getManifest(parseNormalizedNamed(image));
    const manifest = fetched.json as ImageManifest;
    const config = JSON.parse((await client.fetchBlobBuffer(parseNormalizedNamed(image), manifest.config.digest)).toString());
    expect(config.architecture).toBe('arm64');
    expect(config.os).toBe('linux');
    expect(manifest.layers).toHaveLength(1);
    const layer = gunzipSync(await client.fetchBlobBuffer(parseNormalizedNamed(image), manifest.layers[0].digest));
    const names = (await run('tar', ['-t'], { input: layer })).stdout.split('\n');
    expect(names.sort()).toEqual(['./', './System.map', './dtbs.tar.gz', './kernel', './kernel.tar']);
    const kernel = (await run('tar', ['-xO', './kernel'], { input: layer })).stdout;
    expect(kernel).toBe('IMAGE');

    // Already published: no push without FORCE_BUILD_KERNEL (a different dist would not show up).
    await writeFile(join(root, 'dist', 'kernels', 'k', 'kernel'), 'CHANGED');
    await publishKernel(root, metadata, { DO_PUSH: 'yes' });
    expect((await client.getManifest(parseNormalizedNamed(image))).descriptor.digest).toBe(fetched.descriptor.digest);
    await publishKernel(root, metadata, { DO_PUSH: 'yes', FORCE_BUILD_KERNEL: 'yes' });
    expect((await client.getManifest(parseNormalizedNamed(image))).descriptor.digest).not.toBe(fetched.descriptor.digest);

    const layout = await OciLayout.open(join(root, 'dist', 'kernel-images', 'k-6.12.1-0123abcd'));
    expect(await layout.refNames()).toEqual(['6.12.1-0123abcd']);
    expect(JSON.parse(await readFile(join(root, 'dist', 'kernels', 'k', 'kernel.json'), 'utf8')).tag).toBe('6.12.1-0123abcd');
  });
});
