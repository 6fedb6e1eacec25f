/** Test helpers: small real OCI images (multi-layer tars built with tar-stream) in a real layout. */
import type { ImageConfig, OciLayout } from '@hook/oci';
import { buildTestImage, type TarItem } from '@hook/oci/testing';
import type { FsEntry } from '@hook/initramfs';

export { tarBuffer, type TarItem } from '@hook/oci/testing';

export interface ImageSpec {
  layers: TarItem[][];
  architecture?: string;
  config?: ImageConfig['config'];
  /** Layer compression; `gzip` for a LinuxKit cache (linuxkit rejects uncompressed cache layers). Default none. */
  compression?: 'gzip' | 'none';
}

/** Writes an image into the layout under `ref` (uncompressed layers unless `compression: 'gzip'`). */
export async function addImage(layout: OciLayout, ref: string, spec: ImageSpec): Promise<void> {
  await buildTestImage(layout, { layers: spec.layers, architecture: spec.architecture, config: spec.config ?? {}, compression: spec.compression ?? 'none', ref });
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
