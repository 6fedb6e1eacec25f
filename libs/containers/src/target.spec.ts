/**
 * The container build end to end against a real Docker engine and a real registry on loopback.
 * Debian packages: docker.io (dockerd, started by ensureDockerd when none runs; needs root) and
 * docker-registry. The workspace is a temporary one with a tiny image whose builder stage starts
 * FROM a tiny base, so no Debian mirror or registry on the internet is needed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { type TestDockerd, ensureDockerd } from '@hook/docker/testing';
import { BASE_IMAGE_NAME, IMAGE_SBOM_FILE, readImageJson } from '@hook/layout';
import { UserError } from '@hook/log';
import { validateBomJson } from '@hook/sbom';
import { OciLayout, openLayerStream } from '@hook/oci';
import { buildTestImage } from '@hook/oci/testing';
import { type TestRegistry, startRegistry } from '@hook/testing';
import { extract } from 'tar-stream';
import type { Readable } from 'node:stream';
import { dockerArchiveFromLayout } from './docker-archive';
import { loadImage } from './engine-images';
import { imageOutputDir } from './output';
import { hostDockerArch } from '@hook/layout';
import { buildContainerTarget } from './target';

const WORKSPACE = join(__dirname, '..', '..', '..');
const arch = hostDockerArch();

async function tarFiles(stream: Readable): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const unpack = extract();
  stream.pipe(unpack);
  for await (const entry of unpack) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    files.set(entry.header.name.replace(/^\.\//, ''), Buffer.concat(chunks).toString('utf8'));
  }
  return files;
}

/** Every file of the image in the layout, layer over layer. */
async function imageFiles(dir: string, ref: string): Promise<Map<string, string>> {
  const layout = await OciLayout.open(dir);
  const image = await layout.resolveImage(ref, { os: 'linux', architecture: arch });
  const files = new Map<string, string>();
  for (const layer of image.layers) for (const [name, text] of await tarFiles(openLayerStream(layout, layer))) files.set(name, text);
  return files;
}

describe('container build (integration)', () => {
  let dockerd: TestDockerd;
  let registry: TestRegistry;
  let root: string;
  let env: NodeJS.ProcessEnv;
  const run = randomBytes(4).toString('hex');
  const baseRegistryImage = `hook-test/tiny-base:${run}`;
  const build = (overrides: NodeJS.ProcessEnv = {}) => buildContainerTarget({ workspaceRoot: root, imageName: 'tiny', arch, env: { ...env, ...overrides } });
  const tinyDir = () => imageOutputDir(root, 'tiny', arch);

  beforeAll(async () => {
    dockerd = await ensureDockerd();
    registry = await startRegistry();
    root = await mkdtemp(join(tmpdir(), 'hook-containers-'));
    await cp(join(WORKSPACE, 'images', BASE_IMAGE_NAME), join(root, 'images', BASE_IMAGE_NAME), { recursive: true });
    await mkdir(join(root, 'images', 'tiny'), { recursive: true });
    await writeFile(
      join(root, 'images', 'tiny', 'Dockerfile'),
      'ARG BASE_IMAGE\nFROM ${BASE_IMAGE} AS builder\nCOPY hello.txt /out/etc/hello.txt\n\nFROM scratch\nCOPY --from=builder /out/ /\nCOPY --from=builder /etc/os-release /etc/base-release\nCOPY --from=builder /usr/bin/greeting /usr/bin/greeting\n',
    );
    await writeFile(join(root, 'images', 'tiny', 'hello.txt'), 'hello\n');
    // The "registry" Debian image of this workspace: a one-file image loaded into the engine.
    const layout = await OciLayout.create(join(root, 'base-layout'));
    // A dpkg database as Debian's has one: the image's SBOM takes packages from the builder stage.
    const base = await buildTestImage(layout, {
      files: {
        'etc/os-release': `ID=tiny-${run}\n`,
        'usr/bin/greeting': 'hi\n',
        'var/lib/dpkg/status': 'Package: tiny-greeter\nStatus: install ok installed\nArchitecture: all\nVersion: 1.2-3\n\nPackage: tiny-unused\nStatus: install ok installed\nArchitecture: all\nVersion: 9\n',
        'var/lib/dpkg/info/tiny-greeter.list': '/.\n/usr\n/usr/bin\n/usr/bin/greeting\n',
        'var/lib/dpkg/info/tiny-unused.list': '/.\n/usr/bin/unused\n',
      },
      architecture: arch,
      compression: 'none',
    });
    await layout.addManifest(base.manifestDescriptor, 'base');
    await loadImage(dockerd.engine.docker, await dockerArchiveFromLayout(layout, 'base', baseRegistryImage));
    env = {
      ...process.env,
      DOCKER_HOST: '',
      HOOK_LK_CONTAINERS_OCI_BASE: `${registry.host}/hook-test-${run}/`,
      HOOK_DEBIAN_BASE_IMAGE: baseRegistryImage,
      DO_PUSH: '',
      DO_BUILD_LK_CONTAINERS: '',
      EXPORT_LK_CONTAINERS: '',
    };
  }, 120_000);

  afterAll(async () => {
    if (dockerd) {
      const docker = dockerd.engine.docker;
      const images = await docker.listImages();
      for (const image of images) {
        // The builder stages (hook-builder/tiny:<tag>) are tagged too, so they do not dangle.
        const ours = (image.RepoTags ?? []).filter((t) => t.includes(`hook-test-${run}/`) || t === baseRegistryImage || t.startsWith('hook-builder/tiny:'));
        for (const tag of ours) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
      }
    }
    if (root) await rm(root, { recursive: true, force: true });
    await registry?.stop();
    await dockerd?.stop();
  }, 60_000);

  let first: Awaited<ReturnType<typeof build>>;
  let firstSbom: string;

  it('builds an image FROM the base into dist/ as an OCI layout with image.json', async () => {
    first = await build();
    expect(first.source).toBe('built');
    expect(first.ref).toMatch(new RegExp(`^${registry.host}/hook-test-${run}/tiny:[0-9a-f]{8}-${arch}$`));
    expect(first.inputs.dependencies[BASE_IMAGE_NAME]).toMatch(new RegExp(`/hook-test-${run}/debian-base:[0-9a-f]{8}-${arch}$`));

    const files = await imageFiles(tinyDir(), first.ref);
    expect(files.get('etc/hello.txt')).toBe('hello\n');
    expect(files.get('etc/base-release')).toBe(`ID=tiny-${run}\n`);
    expect(await readImageJson(tinyDir())).toEqual(first);
    expect((await dockerd.engine.docker.getImage(first.ref).inspect()).Id).toBe(first.imageId);
    // Only the finished outputs, no temporary directories left beside them.
    expect((await readdir(join(root, 'dist', 'images', 'tiny'))).sort()).toEqual([arch]);

    const base = await readImageJson(imageOutputDir(root, BASE_IMAGE_NAME, arch));
    expect(base).toMatchObject({ ref: first.inputs.dependencies[BASE_IMAGE_NAME], source: 'registry-base' });
  }, 90_000);

  it("writes a valid CycloneDX SBOM beside each image: the builder stage's packages with the files copied from them", async () => {
    const json = await readFile(join(tinyDir(), IMAGE_SBOM_FILE), 'utf8');
    expect(await validateBomJson(json)).toBeNull();
    type Component = { type: string; name: string; version?: string; purl?: string; hashes?: Array<{ content: string }>; components?: Component[] };
    const doc = JSON.parse(json) as { metadata: { component: Component & { properties: Array<{ name: string; value: string }> } }; components: Component[] };
    expect(doc.metadata.component).toMatchObject({ type: 'container', name: 'tiny', version: first.tag });
    expect(doc.metadata.component.purl).toContain(`@${first.digest}?`);
    expect(doc.metadata.component.properties).toContainEqual({ name: 'hook:packages:source', value: 'builder-stage' });
    const greeter = doc.components.find((c) => c.name === 'tiny-greeter');
    expect(greeter).toMatchObject({ type: 'library', version: '1.2-3', purl: 'pkg:deb/debian/tiny-greeter@1.2-3?arch=all' });
    expect(greeter?.components?.map((c) => c.name)).toEqual(['/usr/bin/greeting']);
    expect(greeter?.components?.[0]?.hashes?.[0]?.content).toBe(createHash('sha256').update('hi\n').digest('hex'));
    // Files no package installed are listed on their own; packages that left nothing in the image are not.
    expect(doc.components.filter((c) => c.type === 'file').map((c) => c.name)).toEqual(['/etc/base-release', '/etc/hello.txt']);
    expect(json).not.toContain('tiny-unused');
    // The dpkg database stays out of the image.
    expect([...(await imageFiles(tinyDir(), first.ref)).keys()].filter((name) => name.includes('dpkg'))).toEqual([]);
    // The base carries its own database: its SBOM lists every installed package.
    const baseJson = await readFile(join(imageOutputDir(root, BASE_IMAGE_NAME, arch), IMAGE_SBOM_FILE), 'utf8');
    expect(await validateBomJson(baseJson)).toBeNull();
    expect(baseJson).toContain('pkg:deb/debian/tiny-unused@9?arch=all');
    firstSbom = json;
  }, 60_000);

  it('reuses dist/ on the second run, without building and without the engine', async () => {
    const started = Date.now();
    const again = await build({ DOCKER_HOST: `unix://${join(root, 'no-engine.sock')}` });
    expect(again.source).toBe('dist');
    expect(again.digest).toBe(first.digest);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("reuses the engine's image when dist/ is gone, with the same image ID", async () => {
    await rm(join(root, 'dist', 'images', 'tiny'), { recursive: true });
    const again = await build();
    expect(again.source).toBe('local');
    expect(again.imageId).toBe(first.imageId);
    expect((await imageFiles(tinyDir(), again.ref)).get('etc/hello.txt')).toBe('hello\n');
    // The builder stage comes from the engine's cache: the same SBOM, byte for byte.
    expect(await readFile(join(tinyDir(), IMAGE_SBOM_FILE), 'utf8')).toBe(firstSbom);
  }, 60_000);

  it('DO_PUSH=yes publishes the image, so a machine without it pulls instead of building', async () => {
    await build({ DO_PUSH: 'yes' });
    await dockerd.engine.docker.getImage(first.ref).remove({ force: true });
    await rm(join(root, 'dist', 'images', 'tiny'), { recursive: true });
    const pulled = await build({ DO_BUILD_LK_CONTAINERS: 'no' });
    expect(pulled.source).toBe('pulled');
    expect(pulled.imageId).toBe(first.imageId);
  }, 60_000);

  it('EXPORT_LK_CONTAINERS=yes saves <name>-<tag>.tar.gz as docker save does', async () => {
    const exportDir = join(root, 'export');
    await build({ EXPORT_LK_CONTAINERS: 'yes', EXPORT_LK_CONTAINERS_DIR: exportDir });
    const path = join(exportDir, `tiny-${first.tag}.tar.gz`);
    expect((await stat(path)).size).toBeGreaterThan(0);
    const { createReadStream } = await import('node:fs');
    const files = await tarFiles(createReadStream(path).pipe(createGunzip()));
    expect(JSON.parse(files.get('manifest.json')!)[0].RepoTags).toEqual([first.ref]);
  }, 60_000);

  it('DO_BUILD_LK_CONTAINERS=no with a changed folder stops with one clear line and writes nothing', async () => {
    await writeFile(join(root, 'images', 'tiny', 'hello.txt'), 'hello again\n');
    const error = await build({ DO_BUILD_LK_CONTAINERS: 'no' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^tiny: \S+tiny:[0-9a-f]{8}-\w+ is not in the Docker engine and cannot be pulled, and DO_BUILD_LK_CONTAINERS=no forbids building it: /);
    expect((error as Error).message).not.toContain('\n');
    expect((await readImageJson(tinyDir()))?.ref).toBe(first.ref);
    expect(await readdir(join(root, 'dist', 'images', 'tiny'))).toEqual([arch]);
  }, 60_000);

  it('a missing engine is one clear line when something must be built', async () => {
    const socket = join(root, 'no-engine.sock');
    const error = await build({ DOCKER_HOST: `unix://${socket}` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(`no Docker engine at unix://${socket} (from DOCKER_HOST): install docker.io and start dockerd (systemctl start docker), or set DOCKER_HOST`);
  });

  it('a changed folder builds under a new tag and replaces the output', async () => {
    const changed = await build();
    expect(changed.source).toBe('built');
    expect(changed.tag).not.toBe(first.tag);
    expect((await imageFiles(tinyDir(), changed.ref)).get('etc/hello.txt')).toBe('hello again\n');
    expect(await readFile(join(tinyDir(), 'image.json'), 'utf8')).toContain(changed.tag);
  }, 90_000);
});
