// Needs Debian packages docker-registry and docker.io: like the other engine tests it uses the
// running Docker engine or starts Debian's dockerd (ensureDockerd), and fails when neither works.
// Checks our formats against the real Docker.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { run } from '@hook/process';
import { type TestDockerd, ensureDockerd } from '@hook/docker/testing';
import { type TestRegistry, startRegistry } from '@hook/testing';
import { readDockerArchive } from './docker-archive';
import { OciLayout, openLayerStream } from './layout';
import { RegistryClient } from './registry';
import { buildTestImage } from './testing/test-image';
import { pullImageToLayout, pushLayoutImage } from './transfer';
import { MediaType } from './types';

jest.setTimeout(60_000);

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('Docker interoperability (integration: real Docker daemon and registry)', () => {
  let registry: TestRegistry | undefined;
  let dir: string | undefined;
  let dockerd: TestDockerd | undefined;
  const tags: string[] = [];
  beforeAll(async () => {
    dockerd = await ensureDockerd();
    registry = await startRegistry();
    dir = await mkdtemp(join(tmpdir(), 'oci-docker-'));
  }, 60_000);
  afterAll(async () => {
    if (tags.length) await run('docker', ['rmi', ...tags], { allowFailure: true });
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await dockerd?.stop();
  });

  it('docker pulls what we push; we read what docker saves; we pull what docker pushes', async () => {
    const client = new RegistryClient({ env: {} });
    const layout = await OciLayout.create(join(dir!, 'src'));
    const image = await buildTestImage(layout, { files: { 'hello.txt': `docker check ${process.pid}\n` } });
    await layout.addManifest(image.manifestDescriptor, 'c');
    const ours = `${registry!.host}/hook/interop:ours`;
    const theirs = `${registry!.host}/hook/interop:theirs`;
    tags.push(ours, theirs);
    await pushLayoutImage(layout, 'c', ours, { client });

    await run('docker', ['pull', ours]);
    await run('docker', ['save', '-o', join(dir!, 'save.tar'), ours]);
    const saved = await readDockerArchive(join(dir!, 'save.tar'), join(dir!, 'saved'));
    const resolved = await saved.resolveImage(ours, { os: 'linux', architecture: 'amd64' });
    expect(await collect(openLayerStream(saved, resolved.layers[0]!))).toEqual(image.layerTars[0]);

    await run('docker', ['tag', ours, theirs]);
    await run('docker', ['push', theirs]);
    const back = await pullImageToLayout(theirs, { os: 'linux', architecture: 'amd64' }, await OciLayout.create(join(dir!, 'back')), { client });
    expect([MediaType.dockerManifest, MediaType.ociManifest]).toContain(back.manifestDescriptor.mediaType);
    expect(await collect(openLayerStream((await OciLayout.open(join(dir!, 'back'))), back.layers[0]!))).toEqual(image.layerTars[0]);
  });
});
