/**
 * Reads `docker save` archives into an OCI layout: the old format (manifest.json, <id>.json
 * configs, <id>/layer.tar) and Docker >= 25's, which is an OCI layout inside the tar (we take
 * its index.json and blobs). The archive may be gzip or zstd compressed.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { UserError } from '@hook/log';
import { isDigest } from './digest';
import { OciLayout, decompressStream } from './layout';
import { parseImageReference } from './reference';
import { CONTAINERD_NAME_ANNOTATION, type Descriptor, type ImageIndex, type ImageManifest, MediaType, isIndexMediaType } from './types';

/** Small metadata files are kept in memory; anything bigger is a blob. */
const SMALL_FILE_LIMIT = 1024 * 1024;
const METADATA = /(^|\/)(manifest\.json|index\.json|oci-layout|repositories|VERSION|json|[^/]+\.json)$/;

interface ArchiveContents {
  small: Map<string, Buffer>;
  blobs: Map<string, Descriptor>;
  links: Map<string, string>;
}

interface OldManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * Converts a `docker save` archive (a path or a stream) into a new OCI layout at `destDir`.
 * The layout is built beside it and renamed into place when complete; `destDir` must not exist
 * or be empty. Images are listed under their full normalised names (docker.io/library/x:tag).
 */
export async function readDockerArchive(archive: string | Readable, destDir: string): Promise<OciLayout> {
  await assertEmptyOrMissing(destDir);
  if (typeof archive === 'string') {
    await stat(archive).catch(() => {
      throw new UserError(`cannot read ${archive}: no such file`);
    });
  }
  const label = typeof archive === 'string' ? archive : 'the docker save stream';
  const partial = `${destDir}.partial-${randomBytes(4).toString('hex')}`;
  try {
    const layout = await OciLayout.create(partial);
    const source = typeof archive === 'string' ? createReadStream(archive) : archive;
    const contents = await unpack(decompressStream(source, label), layout, label);
    if (contents.small.has('index.json') && contents.small.has('oci-layout')) {
      await importOciIndex(contents, layout, label);
    } else if (contents.small.has('manifest.json')) {
      await importOldFormat(contents, layout, label);
    } else {
      throw new UserError(`${label} is not a docker save archive (it has neither manifest.json nor an OCI index.json); create it with 'docker save IMAGE -o FILE'`);
    }
    await rmdir(destDir).catch(() => undefined);
    await mkdir(dirname(destDir), { recursive: true });
    await rename(partial, destDir);
    return OciLayout.open(destDir);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

async function assertEmptyOrMissing(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (entries.length > 0) throw new UserError(`${dir} already exists and is not empty; remove it or choose another directory for the image`);
}

/** Streams the tar: metadata into memory, every other file into the layout as a blob. */
async function unpack(tar: Readable, layout: OciLayout, label: string): Promise<ArchiveContents> {
  const contents: ArchiveContents = { small: new Map(), blobs: new Map(), links: new Map() };
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
    tar.on('error', reject);
  });
  ex.on('entry', (header, stream, next) => {
    const name = posix.normalize(header.name).replace(/^(\.\/)+/, '').replace(/\/$/, '');
    const handle = async () => {
      if (header.type === 'symlink' && header.linkname) {
        contents.links.set(name, posix.normalize(posix.join(posix.dirname(name), header.linkname)));
        stream.resume();
      } else if (header.type !== 'file' && header.type !== 'contiguous-file') {
        stream.resume();
      } else if (/^blobs\/sha256\/[a-f0-9]{64}$/.test(name)) {
        // OCI blobs are checked against their names while written.
        const digest = `sha256:${name.slice('blobs/sha256/'.length)}`;
        contents.blobs.set(name, await layout.writeBlob(stream, 'application/octet-stream', digest));
      } else if (METADATA.test(name) && (header.size ?? 0) <= SMALL_FILE_LIMIT) {
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        contents.small.set(name, Buffer.concat(chunks));
      } else {
        contents.blobs.set(name, await layout.writeBlob(stream, 'application/octet-stream'));
      }
    };
    handle().then(() => next(), (error: Error) => next(error));
  });
  tar.pipe(ex);
  try {
    await done;
  } catch (error) {
    if (error instanceof UserError || (error as Error).name === 'DigestMismatchError') throw error;
    throw new UserError(`${label} is not a readable tar archive: ${(error as Error).message}`);
  }
  return contents;
}

/** Follows symlinks (bounded) to the stored file a path stands for. */
function lookup(contents: ArchiveContents, path: string): { blob?: Descriptor; small?: Buffer } {
  let current = posix.normalize(path);
  for (let i = 0; i < 8; i++) {
    if (contents.small.has(current)) return { small: contents.small.get(current) };
    if (contents.blobs.has(current)) return { blob: contents.blobs.get(current) };
    const target = contents.links.get(current);
    if (!target) break;
    current = target;
  }
  return {};
}

function parseJson<T>(data: Buffer, what: string, label: string): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch {
    throw new UserError(`${label}: ${what} is not valid JSON; the archive is damaged`);
  }
}

/** Docker >= 25: the archive is an OCI layout; check every referenced blob arrived. */
async function importOciIndex(contents: ArchiveContents, layout: OciLayout, label: string): Promise<void> {
  const index = parseJson<ImageIndex>(contents.small.get('index.json')!, 'index.json', label);
  const check = async (desc: Descriptor, depth: number): Promise<void> => {
    if (!isDigest(desc.digest) || !(await layout.hasBlob(desc.digest))) {
      throw new UserError(`${label} lacks blob ${desc.digest}; the archive is incomplete`);
    }
    if (depth > 3) return;
    if (isIndexMediaType(desc.mediaType)) {
      const nested = await layout.readJson<ImageIndex>(desc.digest);
      // Indexes may point at platforms that were not saved (docker save --platform); skip those.
      for (const child of nested.manifests) if (await layout.hasBlob(child.digest)) await check(child, depth + 1);
    } else {
      const manifest = await layout.readJson<ImageManifest>(desc.digest);
      for (const blob of [manifest.config, ...manifest.layers]) {
        if (!(await layout.hasBlob(blob.digest))) throw new UserError(`${label} lacks blob ${blob.digest}; the archive is incomplete`);
      }
    }
  };
  for (const entry of index.manifests) {
    await check(entry, 0);
    const name = entry.annotations?.[CONTAINERD_NAME_ANNOTATION];
    await layout.addManifest(entry, name ? normalizedOrSelf(name) : undefined);
  }
}

/** The old format: build an OCI manifest per manifest.json entry. */
async function importOldFormat(contents: ArchiveContents, layout: OciLayout, label: string): Promise<void> {
  const entries = parseJson<OldManifestEntry[]>(contents.small.get('manifest.json')!, 'manifest.json', label);
  if (!Array.isArray(entries) || entries.length === 0) throw new UserError(`${label}: manifest.json lists no images`);
  for (const entry of entries) {
    const configFile = lookup(contents, entry.Config);
    const configData = configFile.small ?? (configFile.blob ? await layout.readBlob(configFile.blob.digest) : undefined);
    if (!configData) throw new UserError(`${label} lacks the image config ${entry.Config}; the archive is incomplete`);
    const config = await layout.writeBlob(configData, MediaType.ociConfig);
    const layers: Descriptor[] = [];
    for (const path of entry.Layers) {
      const found = lookup(contents, path);
      const blob = found.blob ?? (found.small ? await layout.writeBlob(found.small, 'application/octet-stream') : undefined);
      if (!blob) throw new UserError(`${label} lacks the layer ${path}; the archive is incomplete`);
      layers.push({ mediaType: await layerMediaType(layout, blob.digest), digest: blob.digest, size: blob.size });
    }
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers };
    const desc = await layout.writeJsonBlob(manifest, MediaType.ociManifest);
    const tags = entry.RepoTags ?? [];
    if (tags.length === 0) await layout.addManifest(desc);
    for (const tag of tags) {
      const name = normalizedOrSelf(tag);
      await layout.addManifest({ ...desc, annotations: { [CONTAINERD_NAME_ANNOTATION]: name } }, name);
    }
  }
}

function normalizedOrSelf(name: string): string {
  try {
    return parseImageReference(name).toString();
  } catch {
    return name;
  }
}

/** Old archives say "layer.tar" whatever the bytes are: look at them. */
async function layerMediaType(layout: OciLayout, digest: string): Promise<string> {
  const file = await open(layout.blobPath(digest), 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await file.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return MediaType.ociLayerGzip;
    if (bytesRead === 4 && head.readUInt32LE(0) === 0xfd2fb528) return MediaType.ociLayerZstd;
    return MediaType.ociLayer;
  } finally {
    await file.close();
  }
}
