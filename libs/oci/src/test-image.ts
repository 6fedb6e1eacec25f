/** Builds tiny real images for tests (a tar layer, a config, a manifest) with tar-stream. */
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { sha256Digest } from './digest';
import type { OciLayout } from './layout';
import { type Descriptor, type ImageConfig, type ImageManifest, MediaType } from './types';

/** A tar archive holding the given files (path -> content), mode 0644, fixed mtime. */
export async function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    archive.on('end', resolve);
    archive.on('error', reject);
  });
  for (const [name, content] of Object.entries(files)) {
    archive.entry({ name, mode: 0o644, mtime: new Date(0) }, typeof content === 'string' ? Buffer.from(content) : content);
  }
  archive.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export interface TestImageOptions {
  files: Record<string, string | Buffer>;
  architecture?: string;
  variant?: string;
  /** Layer compression; gzip by default. */
  compression?: 'gzip' | 'none';
}

export interface TestImage {
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  /** The uncompressed tar of each layer. */
  layerTars: Buffer[];
}

/** Writes a one-layer image into a layout (not listed in index.json: the caller decides). */
export async function buildTestImage(layout: OciLayout, options: TestImageOptions): Promise<TestImage> {
  const tar = await tarOf(options.files);
  const gzip = options.compression !== 'none';
  const layer = await layout.writeBlob(gzip ? gzipSync(tar) : tar, gzip ? MediaType.ociLayerGzip : MediaType.ociLayer);
  const config: ImageConfig = {
    architecture: options.architecture ?? 'amd64',
    os: 'linux',
    ...(options.variant ? { variant: options.variant } : {}),
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
  };
  const configDesc = await layout.writeJsonBlob(config, MediaType.ociConfig);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [layer] };
  const manifestDescriptor = await layout.writeJsonBlob(manifest, MediaType.ociManifest);
  return { manifestDescriptor, manifest, config, layerTars: [tar] };
}
