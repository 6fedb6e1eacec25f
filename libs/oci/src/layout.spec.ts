import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { useTempDir } from '@hook/testing';
import { UserError } from '@hook/log';
import { run } from '@hook/process';
import { DigestMismatchError, MediaType, OciLayout, openLayerStream, sha256Digest } from './index';
import { buildTestImage, tarOf } from './testing/test-image';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('OciLayout', () => {
  const dir = useTempDir('oci-layout-');

  it('creates the layout files and an empty index', async () => {
    const layout = await OciLayout.create(join(dir.path, 'img'));
    expect(JSON.parse(await readFile(join(dir.path, 'img', 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(await layout.readIndex()).toMatchObject({ schemaVersion: 2, manifests: [] });
    // opening it again works, and create on an existing layout keeps it
    await OciLayout.open(join(dir.path, 'img'));
    await OciLayout.create(join(dir.path, 'img'));
  });

  it('refuses a directory that is not a layout with a UserError', async () => {
    await expect(OciLayout.open(dir.path)).rejects.toThrow(UserError);
    await expect(OciLayout.open(dir.path)).rejects.toThrow(/is not an OCI image layout/);
  });

  it('stores blobs under their digest, from buffers and streams, and leaves no temp files', async () => {
    const layout = await OciLayout.create(dir.path);
    const data = Buffer.from('hello blob');
    const a = await layout.writeBlob(data, 'text/plain');
    expect(a).toEqual({ mediaType: 'text/plain', digest: sha256Digest(data), size: data.length });
    const b = await layout.writeBlob(Readable.from([Buffer.from('hello '), Buffer.from('blob')]), 'text/plain');
    expect(b.digest).toBe(a.digest);
    expect(await layout.readBlob(a.digest)).toEqual(data);
    expect(await collect(layout.blobStream(a.digest))).toEqual(data);
    expect(await readdir(join(dir.path, 'blobs', 'sha256'))).toEqual([a.digest.slice(7)]);
  });

  it('rejects a blob whose bytes do not match the expected digest and keeps nothing', async () => {
    const layout = await OciLayout.create(dir.path);
    await expect(layout.writeBlob(Buffer.from('x'), 'text/plain', sha256Digest('y'))).rejects.toThrow(DigestMismatchError);
    expect(await readdir(join(dir.path, 'blobs', 'sha256'))).toEqual([]);
  });

  it('detects a corrupted blob on read', async () => {
    const layout = await OciLayout.create(dir.path);
    const desc = await layout.writeBlob(Buffer.from('original'), 'text/plain');
    await writeFile(layout.blobPath(desc.digest), 'tampered');
    await expect(layout.readBlob(desc.digest)).rejects.toThrow(/digest mismatch/);
  });

  it('round-trips an image: add by ref name, resolve, read layers back as tar', async () => {
    const layout = await OciLayout.create(dir.path);
    const image = await buildTestImage(layout, { files: { 'etc/hello': 'hi\n' }, architecture: 'amd64' });
    await layout.addManifest(image.manifestDescriptor, 'v1');
    const other = await buildTestImage(layout, { files: { 'etc/other': 'x' }, architecture: 'amd64' });
    await layout.addManifest(other.manifestDescriptor, 'v2');

    const again = await OciLayout.open(dir.path);
    const resolved = await again.resolveImage('v1', { os: 'linux', architecture: 'amd64' });
    expect(resolved.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    expect(resolved.config.architecture).toBe('amd64');
    expect(resolved.layers).toHaveLength(1);
    const tar = await collect(openLayerStream(again, resolved.layers[0]!));
    expect(tar).toEqual(image.layerTars[0]);
    expect(await again.refNames()).toEqual(['v1', 'v2']);

    // a tag moves: adding v1 again replaces the entry
    await again.addManifest(other.manifestDescriptor, 'v1');
    expect((await again.resolveImage('v1')).manifestDescriptor.digest).toBe(other.manifestDescriptor.digest);
    expect((await again.readIndex()).manifests).toHaveLength(2);

    await expect(again.resolveImage()).rejects.toThrow(/holds 2 images/);
    await expect(again.resolveImage('v3')).rejects.toThrow(/"v3" is not in the OCI layout .* \(it has: v2, v1\)/);
    await expect(again.resolveImage('v1', { os: 'linux', architecture: 'arm64' })).rejects.toThrow(/is linux\/amd64, not linux\/arm64/);
  });

  it('follows a multi-platform index to the manifest for the platform', async () => {
    const layout = await OciLayout.create(dir.path);
    const amd = await buildTestImage(layout, { files: { arch: 'amd64' }, architecture: 'amd64' });
    const arm = await buildTestImage(layout, { files: { arch: 'arm64' }, architecture: 'arm64', variant: 'v8' });
    const index = await layout.writeJsonBlob(
      {
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { ...amd.manifestDescriptor, platform: { os: 'linux', architecture: 'amd64' } },
          { ...arm.manifestDescriptor, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
          { mediaType: MediaType.ociManifest, digest: sha256Digest('att'), size: 3, platform: { os: 'unknown', architecture: 'unknown' } },
        ],
      },
      MediaType.ociIndex,
    );
    await layout.addManifest(index, 'multi');
    expect((await layout.resolveImage('multi', { os: 'linux', architecture: 'aarch64' })).manifestDescriptor.digest).toBe(arm.manifestDescriptor.digest);
    expect((await layout.resolveImage(undefined, { os: 'linux', architecture: 'amd64' })).manifestDescriptor.digest).toBe(amd.manifestDescriptor.digest);
    await expect(layout.resolveImage('multi', { os: 'linux', architecture: 'riscv64' })).rejects.toThrow(/no image for linux\/riscv64 \(it has: linux\/amd64, linux\/arm64\)/);
  });

  it('opens gzip, zstd and plain layers as the same tar', async () => {
    const layout = await OciLayout.create(dir.path);
    const tar = await tarOf({ 'a.txt': 'A'.repeat(5000) });
    const zstdFile = join(dir.path, 'layer.tar');
    await writeFile(zstdFile, tar);
    // zstd from Debian package zstd
    await run('zstd', ['-q', '-f', zstdFile, '-o', `${zstdFile}.zst`]);
    const kinds = [
      await layout.writeBlob(tar, MediaType.ociLayer),
      await layout.writeBlob(gzipSync(tar), MediaType.ociLayerGzip),
      await layout.writeBlob(await readFile(`${zstdFile}.zst`), MediaType.ociLayerZstd),
    ];
    for (const desc of kinds) expect(await collect(openLayerStream(layout, desc))).toEqual(tar);
  });

  it('fails the layer stream when zstd data is corrupt', async () => {
    const layout = await OciLayout.create(dir.path);
    const bad = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64, 7)]);
    const desc = await layout.writeBlob(bad, MediaType.ociLayerZstd);
    await expect(collect(openLayerStream(layout, desc))).rejects.toThrow(/zstd/);
  });
});
