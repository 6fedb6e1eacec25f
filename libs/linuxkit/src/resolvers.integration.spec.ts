// Integration: the registry resolver against a real loopback registry (Debian docker-registry),
// the Docker engine resolver against a real Docker engine (started for the test when none
// answers and we are root).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract as tarExtract } from 'tar-stream';
import { UserError } from '@hook/log';
import { type TestDockerd, ensureDockerd } from '@hook/docker/testing';
import { OciLayout, RegistryClient, pushLayoutImage, sha256Digest } from '@hook/oci';
import { type TestRegistry, freeLoopbackPort, startRegistry } from '@hook/testing';
import { addImage, tarBuffer, type TarItem } from '../test/images';
import { DockerEngineResolver } from './engine-resolver';
import { RegistryResolver } from './registry-resolver';
import { ChainResolver, OciLayoutResolver, requireImage } from './resolver';

jest.setTimeout(30_000);

const AMD64 = { os: 'linux', architecture: 'amd64' };

/** Regular files of a tar stream, path -> content. */
async function filesOf(stream: Readable): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const extract = tarExtract();
  extract.on('entry', (header, entry, next) => {
    const chunks: Buffer[] = [];
    entry.on('data', (c: Buffer) => chunks.push(c));
    entry.on('end', () => {
      if (header.type === 'file') files[header.name.replace(/^\.?\//, '')] = Buffer.concat(chunks).toString('utf8');
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    stream.on('error', reject);
    stream.pipe(extract);
  });
  return files;
}

function filesOfItems(items: TarItem[]): Record<string, string> {
  return Object.fromEntries(items.filter((i) => (i.type ?? 'file') === 'file').map((i) => [i.name, String(i.content ?? '')]));
}

describe('RegistryResolver (integration: loopback registry)', () => {
  let registry: TestRegistry;
  let dir: string;
  const client = () => new RegistryClient({ env: {}, attempts: 1 });
  const layerItems: TarItem[] = [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hello', content: `from the registry ${process.pid}\n` },
    { name: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 },
  ];

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await mkdtemp(join(tmpdir(), 'hook-resolvers-'));
    const layout = await OciLayout.create(join(dir, 'src'));
    await addImage(layout, 'small', { layers: [layerItems] });
    await addImage(layout, 'arm', { layers: [[{ name: 'arm', content: 'arm64\n' }]], architecture: 'arm64' });
    await pushLayoutImage(layout, 'small', `${registry.host}/test/small:1`, { client: client() });
    await pushLayoutImage(layout, 'arm', `${registry.host}/test/arm:1`, { client: client() });
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pulls an image for the wanted architecture into a temp layout, removed by close()', async () => {
    const resolver = new RegistryResolver({ env: {}, client: client(), tempDir: dir });
    const ref = `${registry.host}/test/small:1`;
    const source = await requireImage(resolver, ref, 'amd64', 'hook.yaml:3: init[0]');
    expect(source.ref).toBe(ref);
    expect(source.origin).toBe(`registry ${registry.host}`);
    expect(source.config.architecture).toBe('amd64');
    expect(source.layers).toHaveLength(1);
    const chunks: Buffer[] = [];
    for await (const c of source.layers[0]!()) chunks.push(c as Buffer);
    expect(sha256Digest(Buffer.concat(chunks))).toBe(sha256Digest(await tarBuffer(layerItems)));
    expect(await filesOf(source.layers[0]!())).toEqual(filesOfItems(layerItems));
    // Asked again (the build assembles twice with OUTPUT_TARBALL_FILELIST): no second pull.
    expect(await resolver.resolve(ref, AMD64)).toBe(source);

    const temp = await resolver.tempLayoutDir();
    expect(temp && existsSync(temp)).toBe(true);
    await resolver.close();
    expect(existsSync(temp!)).toBe(false);
    await resolver.close();
  });

  it('an image for another architecture is refused by requireImage, naming both', async () => {
    const resolver = new RegistryResolver({ env: {}, client: client(), tempDir: dir });
    try {
      const ref = `${registry.host}/test/arm:1`;
      await expect(requireImage(resolver, ref, 'amd64', 'hook.yaml:7: services[0] x')).rejects.toThrow(
        new UserError(`hook.yaml:7: services[0] x: image ${ref} is built for linux/arm64, but this build is for linux/amd64; build or pull it for amd64`),
      );
    } finally {
      await resolver.close();
    }
  });

  it('a missing tag or repository is undefined; the chain then names all three sources', async () => {
    const registryResolver = new RegistryResolver({ env: {}, client: client(), tempDir: dir });
    const layoutDir = join(dir, 'empty');
    await OciLayout.create(layoutDir);
    const chain = new ChainResolver([new OciLayoutResolver([layoutDir]), new DockerEngineResolver({ env: process.env }), registryResolver]);
    try {
      expect(await registryResolver.resolve(`${registry.host}/test/small:missing`, AMD64)).toBeUndefined();
      expect(await registryResolver.resolve(`${registry.host}/test/nothing:1`, AMD64)).toBeUndefined();
      const ref = `${registry.host}/test/small:missing`;
      await expect(requireImage(chain, ref, 'amd64', 'hook.yaml:3: init[0]')).rejects.toThrow(
        new UserError(
          `hook.yaml:3: init[0]: image ${ref} not found in OCI layouts (${layoutDir}), then the local Docker engine, then the image's registry; build it first (or pull it) for linux/amd64`,
        ),
      );
    } finally {
      await chain.close();
    }
  });

  it('an unreachable registry is a UserError, not "not found"', async () => {
    const resolver = new RegistryResolver({ env: {}, client: client(), tempDir: dir });
    const port = await freeLoopbackPort();
    await expect(requireImage(resolver, `127.0.0.1:${port}/test/small:1`, 'amd64', 'hook.yaml:3: init[0]')).rejects.toThrow(
      /^hook\.yaml:3: init\[0\]: cannot reach registry 127\.0\.0\.1:\d+/,
    );
    await resolver.close();
  });

  it('HOOK_PULL_IMAGES=no keeps the build off registries; other values are refused', async () => {
    const resolver = new RegistryResolver({ env: { HOOK_PULL_IMAGES: 'no' }, client: client() });
    expect(resolver.description).toBe("the image's registry (not asked: HOOK_PULL_IMAGES=no)");
    expect(await resolver.resolve(`${registry.host}/test/small:1`, AMD64)).toBeUndefined();
    expect(new RegistryResolver({ env: { HOOK_PULL_IMAGES: 'yes' } }).enabled).toBe(true);
    expect(() => new RegistryResolver({ env: { HOOK_PULL_IMAGES: 'maybe' } })).toThrow(new UserError("HOOK_PULL_IMAGES is 'maybe'; use yes or no"));
  });
});

describe('DockerEngineResolver (integration: real Docker engine)', () => {
  let dockerd: TestDockerd;
  let dir: string;
  const tag = `hook-test/engine-resolver:${process.pid}`;
  const layerItems: TarItem[] = [
    { name: 'usr/', type: 'directory' },
    { name: 'usr/share/hello', content: `from the engine ${process.pid}\n` },
    { name: 'etc/os-release', content: 'ID=hook-test\n' },
  ];

  beforeAll(async () => {
    dockerd = await ensureDockerd();
    dir = await mkdtemp(join(tmpdir(), 'hook-engine-resolver-'));
    // A `docker save` archive of a one-layer image, loaded into the engine as `docker load` does.
    const layer = await tarBuffer(layerItems);
    const config = Buffer.from(
      JSON.stringify({ architecture: dockerd.engine.arch, os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] } }),
    );
    const configName = `${sha256Digest(config).slice('sha256:'.length)}.json`;
    const manifest = JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: ['layer/layer.tar'] }]);
    const archive = await tarBuffer([
      { name: configName, content: config },
      { name: 'layer/', type: 'directory' },
      { name: 'layer/layer.tar', content: layer },
      { name: 'manifest.json', content: manifest },
    ]);
    const progress = await dockerd.engine.docker.loadImage(Readable.from([archive]));
    await new Promise((resolve, reject) =>
      dockerd.engine.docker.modem.followProgress(progress, (error: Error | null, output: Array<{ error?: string }>) => {
        const failed = output?.find((o) => o.error);
        if (error || failed) reject(error ?? new Error(failed!.error));
        else resolve(output);
      }),
    );
  }, 90_000);
  afterAll(async () => {
    await dockerd?.engine.docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
    await dockerd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('docker saves an image the engine has into a temp layout and yields its files', async () => {
    const resolver = new DockerEngineResolver({ engine: dockerd.engine, tempDir: dir });
    const source = await requireImage(resolver, tag, dockerd.engine.arch, 'hook.yaml:3: init[0]');
    expect(source.origin).toBe(`Docker engine at ${dockerd.engine.endpoint.host}`);
    expect(source.config.architecture).toBe(dockerd.engine.arch);
    expect(source.config.config?.Cmd).toEqual(['/bin/sh']);
    expect(source.layers).toHaveLength(1);
    expect(await filesOf(source.layers[0]!())).toEqual(filesOfItems(layerItems));

    const temp = await resolver.tempLayoutDir();
    expect(temp && existsSync(temp)).toBe(true);
    await resolver.close();
    expect(existsSync(temp!)).toBe(false);
  });

  it('is undefined for an image the engine lacks or has for another architecture', async () => {
    const resolver = new DockerEngineResolver({ engine: dockerd.engine, tempDir: dir });
    try {
      expect(await resolver.resolve(`hook-test/not-there:${process.pid}`, AMD64)).toBeUndefined();
      const other = dockerd.engine.arch === 'arm64' ? 'amd64' : 'arm64';
      expect(await resolver.resolve(tag, { os: 'linux', architecture: other })).toBeUndefined();
      expect(await resolver.tempLayoutDir()).toBeUndefined();
    } finally {
      await resolver.close();
    }
  });

  it('is undefined, not an error, when no engine answers', async () => {
    const resolver = new DockerEngineResolver({ env: { DOCKER_HOST: `unix://${join(dir, 'no-such.sock')}` } });
    expect(await resolver.resolve(tag, AMD64)).toBeUndefined();
    await resolver.close();
  });
});
