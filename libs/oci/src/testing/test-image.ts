/**
 * Test fixture (import from @hook/oci/testing, never from production code): the one builder of
 * tiny real images for tests (tar layers, a config, a manifest) with tar-stream.
 */
import { gzipSync } from 'node:zlib';
import { pack, type Headers } from 'tar-stream';
import { sha256Digest } from '../digest';
import type { OciLayout } from '../layout';
import { type Descriptor, type ImageConfig, type ImageManifest, MediaType } from '../types';

/** One tar member for test archives; files by default, with LinuxKit-relevant header fields. */
export interface TarItem {
  name: string;
  type?: Headers['type'];
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  content?: string | Buffer;
  /** Seconds; default 1000. */
  mtime?: number;
}

/** A tar archive of the given members, in order. */
export async function tarBuffer(items: TarItem[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    archive.on('end', resolve);
    archive.on('error', reject);
  });
  for (const item of items) {
    const type = item.type ?? 'file';
    const header: Headers = {
      name: item.name,
      type,
      mode: item.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: item.uid ?? 0,
      gid: item.gid ?? 0,
      mtime: new Date((item.mtime ?? 1000) * 1000),
      linkname: item.linkname,
      devmajor: item.devmajor,
      devminor: item.devminor,
    };
    if (type === 'file') archive.entry(header, typeof item.content === 'string' ? Buffer.from(item.content) : (item.content ?? Buffer.alloc(0)));
    else archive.entry(header);
  }
  archive.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** A tar archive holding the given files (path -> content), mode 0644, mtime 0. */
export function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  return tarBuffer(Object.entries(files).map(([name, content]) => ({ name, content, mode: 0o644, mtime: 0 })));
}

export interface TestImageOptions {
  /** One layer with these files (mode 0644, mtime 0) ... */
  files?: Record<string, string | Buffer>;
  /** ... or these layers, in order, each a list of tar members. */
  layers?: TarItem[][];
  architecture?: string;
  variant?: string;
  /** The image config's `config`; default PATH and Cmd /bin/sh. */
  config?: ImageConfig['config'];
  /** Layer compression; gzip by default. */
  compression?: 'gzip' | 'none';
  /** List the manifest in index.json under this name; by default it is not listed (the caller decides). */
  ref?: string;
}

export interface TestImage {
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  /** The uncompressed tar of each layer. */
  layerTars: Buffer[];
}

/** Writes an image into a layout: its layers, config and manifest. */
export async function buildTestImage(layout: OciLayout, options: TestImageOptions): Promise<TestImage> {
  const layerTars = options.layers ? await Promise.all(options.layers.map((items) => tarBuffer(items))) : [await tarOf(options.files ?? {})];
  const gzip = options.compression !== 'none';
  const layers: Descriptor[] = [];
  for (const tar of layerTars) layers.push(await layout.writeBlob(gzip ? gzipSync(tar) : tar, gzip ? MediaType.ociLayerGzip : MediaType.ociLayer));
  const config: ImageConfig = {
    architecture: options.architecture ?? 'amd64',
    os: 'linux',
    ...(options.variant ? { variant: options.variant } : {}),
    config: options.config ?? { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layerTars.map((tar) => sha256Digest(tar)) },
  };
  const configDesc = await layout.writeJsonBlob(config, MediaType.ociConfig);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers };
  const manifestDescriptor = await layout.writeJsonBlob(manifest, MediaType.ociManifest);
  if (options.ref) await layout.addManifest(manifestDescriptor, options.ref);
  return { manifestDescriptor, manifest, config, layerTars };
}
