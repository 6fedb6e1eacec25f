/**
 * Between the Docker engine's archive format (`docker save` / `docker load`: manifest.json plus
 * config and layer files, in the legacy layout of Docker < 25 or the OCI-shaped one of >= 25)
 * and an OCI image layout on disk, so images live in `dist/` and the engine is only a builder.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Descriptor, type ImageConfig, type ImageManifest, MediaType, OciLayout } from '@hook/oci';
import { extract, pack } from 'tar-stream';

interface ArchiveManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

export interface ImportedImage {
  manifest: Descriptor;
  config: ImageConfig;
  /** Config plus layers, in bytes, as stored. */
  size: number;
}

/**
 * Reads a `docker save` stream of one image into `layout`, listed under `refName`. Every file
 * of the archive goes to the blob store under its own digest as it streams by (so nothing is
 * held in memory); the files that are not part of the image are removed at the end.
 */
export async function importDockerArchive(archive: Readable, layout: OciLayout, refName: string): Promise<ImportedImage> {
  const files = new Map<string, Descriptor>();
  const unpack = extract();
  const reading = (async () => {
    for await (const entry of unpack) {
      const name = entry.header.name.replace(/^\.\//, '');
      if (entry.header.type === 'file') files.set(name, await layout.writeBlob(entry, 'application/octet-stream'));
      else entry.resume();
    }
  })();
  await Promise.all([pipeline(archive, unpack), reading]);

  const manifestFile = files.get('manifest.json');
  if (!manifestFile) throw new Error('the Docker engine sent an image archive without manifest.json');
  const entries = await layout.readJson<ArchiveManifestEntry[]>(manifestFile.digest);
  if (entries.length !== 1) throw new Error(`expected one image in the Docker archive, found ${entries.length}`);
  const entry = entries[0]!;
  const find = (path: string): Descriptor => {
    const found = files.get(path);
    if (!found) throw new Error(`the Docker archive lists ${path} but does not contain it`);
    return found;
  };
  const configFile = find(entry.Config);
  const config = await layout.readJson<ImageConfig>(configFile.digest);
  const layers: Descriptor[] = [];
  for (const path of entry.Layers) {
    const file = find(path);
    layers.push({ mediaType: (await isGzip(layout.blobPath(file.digest))) ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: file.digest, size: file.size });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configFile.digest, size: configFile.size },
    layers,
  };
  const manifestDesc = await layout.writeJsonBlob(manifest, MediaType.ociManifest);
  const platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  await layout.addManifest({ ...manifestDesc, platform }, refName);

  const kept = new Set([configFile.digest, ...layers.map((l) => l.digest), manifestDesc.digest]);
  for (const file of files.values()) if (!kept.has(file.digest)) await rm(layout.blobPath(file.digest), { force: true });
  return { manifest: manifestDesc, config, size: configFile.size + layers.reduce((sum, l) => sum + l.size, 0) };
}

async function isGzip(path: string): Promise<boolean> {
  if ((await stat(path)).size < 2) return false;
  for await (const chunk of createReadStream(path, { start: 0, end: 1 })) {
    const head = chunk as Buffer;
    return head[0] === 0x1f && head[1] === 0x8b;
  }
  return false;
}

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
