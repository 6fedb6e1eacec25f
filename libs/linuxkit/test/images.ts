/** Test helpers: small real OCI images (multi-layer tars built with tar-stream) in a real layout. */
import { gzipSync } from 'node:zlib';
import { MediaType, OciLayout, sha256Digest, tarBuffer, type ImageConfig, type TarItem } from '@hook/oci';
import type { FsEntry } from '@hook/initramfs';

export { tarBuffer, type TarItem } from '@hook/oci';

export interface ImageSpec {
  layers: TarItem[][];
  architecture?: string;
  config?: ImageConfig['config'];
  /** Layer compression; `gzip` for a LinuxKit cache (linuxkit rejects uncompressed cache layers). Default none. */
  compression?: 'gzip' | 'none';
}

/** Writes an image into the layout under `ref` (uncompressed layers unless `compression: 'gzip'`). */
export async function addImage(layout: OciLayout, ref: string, spec: ImageSpec): Promise<void> {
  const layerDescs = [];
  const diffIds = [];
  for (const items of spec.layers) {
    const tar = await tarBuffer(items);
    const gzip = spec.compression === 'gzip';
    layerDescs.push(await layout.writeBlob(gzip ? gzipSync(tar) : tar, gzip ? MediaType.ociLayerGzip : MediaType.ociLayer));
    diffIds.push(sha256Digest(tar));
  }
  const config: ImageConfig = {
    architecture: spec.architecture ?? 'amd64',
    os: 'linux',
    config: spec.config ?? {},
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  const configDesc = await layout.writeJsonBlob(config, MediaType.ociConfig);
  const manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: layerDescs };
  const manifestDesc = await layout.writeJsonBlob(manifest, MediaType.ociManifest);
  await layout.addManifest(manifestDesc, ref);
}

/** Collects entries (reading file contents) and applies last-wins, as an unpack would. */
export async function collectTree(entries: AsyncIterable<FsEntry>): Promise<{ list: FsEntry[]; tree: Map<string, FsEntry & { data?: Buffer }> }> {
  const list: FsEntry[] = [];
  const tree = new Map<string, FsEntry & { data?: Buffer }>();
  for await (const entry of entries) {
    let data: Buffer | undefined;
    if (entry.type === 'file') {
      const content = entry.content?.();
      if (Buffer.isBuffer(content)) data = content;
      else if (content) {
        const chunks: Buffer[] = [];
        for await (const c of content) chunks.push(c as Buffer);
        data = Buffer.concat(chunks);
      } else data = Buffer.alloc(0);
      if (data.length !== (entry.size ?? 0)) throw new Error(`${entry.path}: size ${entry.size} but ${data.length} bytes`);
    }
    list.push(entry);
    tree.set(entry.path, { ...entry, data });
  }
  return { list, tree };
}
