/**
 * From an OCI image layout on disk to the Docker engine's archive format (`docker load`:
 * manifest.json plus config and layer files), so images live in `dist/` and the engine is only
 * a builder. The other direction, `docker save` into a layout, is `importDockerArchive` of
 * `@hook/oci`.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { OciLayout } from '@hook/oci';
import { pack } from 'tar-stream';

/**
 * The image `refName` of an OCI layout as a `docker load` archive (manifest.json naming the
 * blobs by path), so an image restored from `dist/` or the Nx cache gets back into the engine
 * with the same image ID.
 */
export async function dockerArchiveFromLayout(layout: OciLayout, refName: string, repoTag: string): Promise<Readable> {
  const image = await layout.resolveImage(refName);
  const blobName = (digest: string) => `blobs/${digest.replace(':', '/')}`;
  const archive = pack();
  const manifest = [{ Config: blobName(image.manifest.config.digest), RepoTags: [repoTag], Layers: image.layers.map((l) => blobName(l.digest)) }];
  (async () => {
    const blobs = [image.manifest.config, ...image.layers];
    const seen = new Set<string>();
    for (const blob of blobs) {
      if (seen.has(blob.digest)) continue;
      seen.add(blob.digest);
      const entry = archive.entry({ name: blobName(blob.digest), size: blob.size, mode: 0o644, mtime: new Date(0) });
      await pipeline(layout.blobStream(blob.digest), entry);
    }
    archive.entry({ name: 'manifest.json', mode: 0o644, mtime: new Date(0) }, JSON.stringify(manifest));
    archive.finalize();
  })().catch((error: unknown) => archive.destroy(error as Error));
  return archive;
}
