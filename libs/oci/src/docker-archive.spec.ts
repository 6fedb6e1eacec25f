import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { useTempDir } from '@hook/testing';
import { pack } from 'tar-stream';
import { UserError } from '@hook/log';
import { importDockerArchive, readDockerArchive } from './docker-archive';
import { sha256Digest } from './digest';
import { OciLayout, openLayerStream } from './layout';
import { buildTestImage, tarOf } from './testing/test-image';
import { CONTAINERD_NAME_ANNOTATION, MediaType, REF_NAME_ANNOTATION } from './types';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

type Entry = { name: string; data?: Buffer | string; linkname?: string; type?: 'file' | 'symlink' | 'directory' };

async function tarEntries(entries: Entry[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => archive.on('end', resolve));
  for (const e of entries) {
    if (e.type === 'symlink') archive.entry({ name: e.name, type: 'symlink', linkname: e.linkname });
    else if (e.type === 'directory') archive.entry({ name: e.name, type: 'directory' });
    else archive.entry({ name: e.name }, typeof e.data === 'string' ? Buffer.from(e.data) : e.data!);
  }
  archive.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** An archive as `docker save` wrote it before Docker 25 (one directory per layer). */
async function oldFormatArchive(): Promise<{ archive: Buffer; layerA: Buffer; layerB: Buffer }> {
  const layerA = await tarOf({ 'etc/os-release': 'ID=test\n' });
  const layerB = await tarOf({ 'usr/bin/app': Buffer.alloc(700, 3) });
  const config = (arch: string, layers: Buffer[]) =>
    JSON.stringify({ architecture: arch, os: 'linux', config: { Cmd: ['/usr/bin/app'] }, rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256Digest(l)) } });
  const configApp = config('amd64', [layerA, layerB]);
  const configBase = config('amd64', [layerA]);
  const hexApp = sha256Digest(configApp).slice(7);
  const hexBase = sha256Digest(configBase).slice(7);
  const manifest = [
    { Config: `${hexApp}.json`, RepoTags: ['hook/app:1.0', 'registry.local:5000/app:latest'], Layers: ['aaa/layer.tar', 'bbb/layer.tar'] },
    // the second image shares the first layer through a symlink, as docker save does
    { Config: `${hexBase}.json`, RepoTags: ['alpine:3.20'], Layers: ['ccc/layer.tar'] },
  ];
  const archive = await tarEntries([
    { name: 'aaa/', type: 'directory' },
    { name: 'aaa/VERSION', data: '1.0' },
    { name: 'aaa/json', data: '{}' },
    { name: 'aaa/layer.tar', data: layerA },
    { name: 'bbb/layer.tar', data: layerB },
    { name: 'ccc/layer.tar', type: 'symlink', linkname: '../aaa/layer.tar' },
    { name: `${hexApp}.json`, data: configApp },
    { name: `${hexBase}.json`, data: configBase },
    { name: 'repositories', data: '{}' },
    { name: 'manifest.json', data: JSON.stringify(manifest) },
  ]);
  return { archive, layerA, layerB };
}

describe('readDockerArchive', () => {
  const dir = useTempDir('oci-docker-save-');

  it('reads the old format (manifest.json, <id>/layer.tar, symlinked layers) into a layout', async () => {
    const { archive, layerA, layerB } = await oldFormatArchive();
    await writeFile(join(dir.path, 'save.tar'), archive);
    const layout = await readDockerArchive(join(dir.path, 'save.tar'), join(dir.path, 'layout'));
    expect(await layout.refNames()).toEqual(['docker.io/hook/app:1.0', 'registry.local:5000/app:latest', 'docker.io/library/alpine:3.20']);

    const app = await layout.resolveImage('hook/app:1.0', { os: 'linux', architecture: 'amd64' });
    expect(app.config.config?.Cmd).toEqual(['/usr/bin/app']);
    expect(app.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayer, MediaType.ociLayer]);
    expect(await collect(openLayerStream(layout, app.layers[0]!))).toEqual(layerA);
    expect(await collect(openLayerStream(layout, app.layers[1]!))).toEqual(layerB);
    const base = await layout.resolveImage('alpine:3.20');
    expect(base.layers[0]!.digest).toBe(sha256Digest(layerA));
    expect((await layout.findEntry('alpine:3.20')).annotations?.[CONTAINERD_NAME_ANNOTATION]).toBe('docker.io/library/alpine:3.20');
    // nothing is left beside the layout
    expect((await readdir(dir.path)).sort()).toEqual(['layout', 'save.tar']);
  });

  it('reads a gzip-compressed archive from a stream, and marks gzip layers as such', async () => {
    const layer = gzipSync(await tarOf({ f: 'gz' }));
    const cfg = JSON.stringify({ architecture: 'arm64', os: 'linux' });
    const archive = await tarEntries([
      { name: 'l1/layer.tar', data: layer },
      { name: 'c.json', data: cfg },
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', RepoTags: null, Layers: ['l1/layer.tar'] }]) },
    ]);
    const layout = await readDockerArchive(Readable.from([gzipSync(archive)]), join(dir.path, 'gz'));
    const image = await layout.resolveImage(undefined, { os: 'linux', architecture: 'arm64' });
    expect(image.layers[0]!.mediaType).toBe(MediaType.ociLayerGzip);
    expect(await layout.refNames()).toEqual([]);
  });

  it('reads the Docker >= 25 format (an OCI layout in the tar)', async () => {
    const src = await OciLayout.create(join(dir.path, 'src'));
    const image = await buildTestImage(src, { files: { 'hello.txt': 'from docker 25' } });
    const blobs = await readdir(join(dir.path, 'src', 'blobs', 'sha256'));
    const entry = { ...image.manifestDescriptor, annotations: { [CONTAINERD_NAME_ANNOTATION]: 'docker.io/library/hello:1', [REF_NAME_ANNOTATION]: '1' } };
    const archive = await tarEntries([
      { name: 'blobs/', type: 'directory' },
      ...(await Promise.all(blobs.map(async (hex) => ({ name: `blobs/sha256/${hex}`, data: await src.readBlob(`sha256:${hex}`) })))),
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [entry] }) },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `blobs/sha256/${image.manifest.config.digest.slice(7)}`, RepoTags: ['hello:1'], Layers: [] }]) },
    ]);
    await writeFile(join(dir.path, 'new.tar'), archive);
    const layout = await readDockerArchive(join(dir.path, 'new.tar'), join(dir.path, 'out'));
    expect(await layout.refNames()).toEqual(['docker.io/library/hello:1']);
    const resolved = await layout.resolveImage('hello:1');
    expect(resolved.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    expect(await collect(openLayerStream(layout, resolved.layers[0]!))).toEqual(image.layerTars[0]);
  });

  it('rejects a tampered OCI blob, a missing layer and a non-archive, leaving nothing behind', async () => {
    const bad = await tarEntries([
      { name: `blobs/sha256/${'a'.repeat(64)}`, data: 'not what the name says' },
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', data: '{"schemaVersion":2,"manifests":[]}' },
    ]);
    await expect(readDockerArchive(Readable.from([bad]), join(dir.path, 'a'))).rejects.toThrow(/digest mismatch/);

    const missing = await tarEntries([
      { name: 'c.json', data: '{"architecture":"amd64","os":"linux"}' },
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: ['gone/layer.tar'] }]) },
    ]);
    await expect(readDockerArchive(Readable.from([missing]), join(dir.path, 'b'))).rejects.toThrow(/lacks the layer gone\/layer.tar; the archive is incomplete/);

    await writeFile(join(dir.path, 'junk.tar'), 'this is not a tar file at all, just some text'.repeat(20));
    const junk = await readDockerArchive(join(dir.path, 'junk.tar'), join(dir.path, 'c')).catch((e: unknown) => e);
    expect(junk).toBeInstanceOf(UserError);
    await expect(readDockerArchive(join(dir.path, 'nope.tar'), join(dir.path, 'd'))).rejects.toThrow(`cannot read ${join(dir.path, 'nope.tar')}: no such file`);
    expect((await readdir(dir.path)).sort()).toEqual(['junk.tar']);
  });

  it('refuses to write into a directory that has files', async () => {
    const { archive } = await oldFormatArchive();
    await writeFile(join(dir.path, 'keep'), 'x');
    await expect(readDockerArchive(Readable.from([archive]), dir.path)).rejects.toThrow(/already exists and is not empty/);
  });
});

describe('importDockerArchive', () => {
  const dir = useTempDir('oci-docker-import-');

  const blobNames = async (layoutDir: string) => (await readdir(join(layoutDir, 'blobs', 'sha256'))).sort();

  it('imports one image into an existing layout under the given ref name, dropping stray files and keeping shared blobs', async () => {
    const layout = await OciLayout.create(join(dir.path, 'layout'));
    const other = await buildTestImage(layout, { files: { 'other.txt': 'already here' }, compression: 'none' });
    await layout.addManifest(other.manifestDescriptor, 'keep');
    const shared = other.layerTars[0]!;
    const ownLayer = await tarOf({ 'app.txt': 'new' });
    const cfg = JSON.stringify({ architecture: 'arm64', variant: 'v8', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest(shared), sha256Digest(ownLayer)] } });
    const archive = await tarEntries([
      { name: 'a/layer.tar', data: shared },
      { name: 'b/layer.tar', data: ownLayer },
      { name: 'stray/notes.bin', data: Buffer.alloc(300, 7) },
      { name: 'c.json', data: cfg },
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', RepoTags: ['hook/app:1'], Layers: ['a/layer.tar', 'b/layer.tar'] }]) },
    ]);

    const imported = await importDockerArchive(Readable.from([archive]), layout, { refName: 'registry.local:5000/x/app:abc-arm64' });
    expect(await layout.refNames()).toEqual(['keep', 'registry.local:5000/x/app:abc-arm64']);
    expect(imported.config.architecture).toBe('arm64');
    expect(imported.size).toBe(Buffer.byteLength(cfg) + shared.length + ownLayer.length);
    const entry = await layout.findEntry('registry.local:5000/x/app:abc-arm64');
    expect(entry.digest).toBe(imported.manifest.digest);
    expect(entry.platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(entry.annotations?.[CONTAINERD_NAME_ANNOTATION]).toBeUndefined();
    const image = await layout.resolveImage('registry.local:5000/x/app:abc-arm64', { os: 'linux', architecture: 'arm64' });
    expect(image.manifest.config.digest).toBe(sha256Digest(cfg));
    expect(await collect(openLayerStream(layout, image.layers[1]!))).toEqual(ownLayer);
    expect(await layout.hasBlob(sha256Digest(Buffer.alloc(300, 7)))).toBe(false);
    // the other image is untouched
    expect((await layout.resolveImage('keep')).layers[0]!.digest).toBe(sha256Digest(shared));
  });

  it('lists a Docker >= 25 archive under the ref name by its image manifest', async () => {
    const src = await OciLayout.create(join(dir.path, 'src'));
    const image = await buildTestImage(src, { files: { 'hello.txt': 'from docker 25' } });
    const blobs = await readdir(join(dir.path, 'src', 'blobs', 'sha256'));
    const entry = { ...image.manifestDescriptor, annotations: { [CONTAINERD_NAME_ANNOTATION]: 'docker.io/library/hello:1', [REF_NAME_ANNOTATION]: '1' } };
    const archive = await tarEntries([
      ...(await Promise.all(blobs.map(async (hex) => ({ name: `blobs/sha256/${hex}`, data: await src.readBlob(`sha256:${hex}`) })))),
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [entry] }) },
    ]);
    const layout = await OciLayout.create(join(dir.path, 'layout'));
    const imported = await importDockerArchive(Readable.from([archive]), layout, { refName: 'local/hello:x' });
    expect(imported.manifest.digest).toBe(image.manifestDescriptor.digest);
    expect(imported.size).toBe(image.manifest.config.size + image.manifest.layers[0]!.size);
    expect(await layout.refNames()).toEqual(['local/hello:x']);
    expect((await layout.findEntry('local/hello:x')).platform).toEqual({ os: 'linux', architecture: 'amd64' });
  });

  it('wants exactly one image for a ref name, and leaves the layout as it was when it fails', async () => {
    const layout = await OciLayout.create(join(dir.path, 'layout'));
    const other = await buildTestImage(layout, { files: { 'other.txt': 'x' }, compression: 'none' });
    await layout.addManifest(other.manifestDescriptor, 'keep');
    const before = await blobNames(join(dir.path, 'layout'));
    const { archive } = await oldFormatArchive();
    const error = await importDockerArchive(Readable.from([archive]), layout, { refName: 'one', label: 'docker save one' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe('docker save one holds 2 images; listing it as one needs exactly one (save a single image of one platform)');

    const sharedButMissing = await tarEntries([
      { name: 'a/layer.tar', data: other.layerTars[0]! },
      { name: 'new/layer.tar', data: await tarOf({ n: 'new' }) },
      { name: 'c.json', data: '{"architecture":"amd64","os":"linux"}' },
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', Layers: ['a/layer.tar', 'new/layer.tar', 'gone/layer.tar'] }]) },
    ]);
    await expect(importDockerArchive(Readable.from([sharedButMissing]), layout, { refName: 'one' })).rejects.toThrow(/lacks the layer gone\/layer.tar/);
    expect(await blobNames(join(dir.path, 'layout'))).toEqual(before);
    expect(await layout.refNames()).toEqual(['keep']);
  });

  it('without a ref name lists every image under its normalised names and returns each', async () => {
    const { archive } = await oldFormatArchive();
    const layout = await OciLayout.create(join(dir.path, 'layout'));
    const images = await importDockerArchive(Readable.from([archive]), layout);
    expect(images.map((i) => i.config.config?.Cmd)).toEqual([['/usr/bin/app'], ['/usr/bin/app']]);
    expect(await layout.refNames()).toEqual(['docker.io/hook/app:1.0', 'registry.local:5000/app:latest', 'docker.io/library/alpine:3.20']);
  });
});
