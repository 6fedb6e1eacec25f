/**
 * Reads `docker save` archives into an OCI layout: the old format (manifest.json, <id>.json
 * configs, <id>/layer.tar) and Docker >= 25's, which is an OCI layout inside the tar (we take
 * its index.json and blobs). The archive may be gzip or zstd compressed. Every file streams
 * into the blob store as it goes by; only small metadata files are held in memory.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { UserError } from '@hook/log';
import { isDigest } from './digest';
import { OciLayout, decompressStream } from './layout';
import { isAttestation } from './platform';
import { parseImageReference } from './reference';
import {
  CONTAINERD_NAME_ANNOTATION,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  MediaType,
  type Platform,
  isIndexMediaType,
  isManifestMediaType,
} from './types';

/** Small metadata files are kept in memory; anything bigger is a blob. */
const SMALL_FILE_LIMIT = 1024 * 1024;
const METADATA = /(^|\/)(manifest\.json|index\.json|oci-layout|repositories|VERSION|json|[^/]+\.json)$/;
const OCI_BLOB = /^blobs\/sha256\/[a-f0-9]{64}$/;

interface ArchiveContents {
  small: Map<string, Buffer>;
  blobs: Map<string, Descriptor>;
  links: Map<string, string>;
}

/** What an import found: the image manifests, and the index.json entries to add for them. */
interface Found {
  images: ImportedImage[];
  entries: { desc: Descriptor; name?: string }[];
}

interface OldManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

export interface ImportDockerArchiveOptions {
  /**
   * List the image under this ref name (as given, not normalised); the archive must then hold
   * exactly one image. Without it, every image is listed under its full normalised names
   * (docker.io/library/x:tag), or unnamed when the archive has none.
   */
  refName?: string;
  /** Names a stream in error messages (a path names itself). */
  label?: string;
}

/** One image manifest the import wrote or found in the archive. */
export interface ImportedImage {
  manifest: Descriptor;
  config: ImageConfig;
  /** Config plus layers, in bytes, as stored. */
  size: number;
}

/**
 * Imports a `docker save` archive (a path or a stream) into the existing `layout`. With
 * `refName` the archive must hold one image, which is listed under that name and returned;
 * without it every image is listed under its normalised names and all image manifests are
 * returned (one per saved platform of a multi-platform entry). Archive files that are not part
 * of an image are dropped again, and on failure the blobs this import added are removed (blobs
 * the layout had before are never touched).
 */
export async function importDockerArchive(
  archive: string | Readable,
  layout: OciLayout,
  options: ImportDockerArchiveOptions & { refName: string },
): Promise<ImportedImage>;
export async function importDockerArchive(archive: string | Readable, layout: OciLayout, options?: ImportDockerArchiveOptions): Promise<ImportedImage[]>;
export async function importDockerArchive(
  archive: string | Readable,
  layout: OciLayout,
  options: ImportDockerArchiveOptions = {},
): Promise<ImportedImage | ImportedImage[]> {
  if (typeof archive === 'string') {
    await stat(archive).catch(() => {
      throw new UserError(`cannot read ${archive}: no such file`);
    });
  }
  const label = typeof archive === 'string' ? archive : (options.label ?? 'the docker save stream');
  const before = await blobsPresent(layout);
  const written = new Set<string>();
  let found: Found;
  try {
    const source = typeof archive === 'string' ? createReadStream(archive) : archive;
    const contents = await unpack(decompressStream(source, label), layout, label, written);
    if (contents.small.has('index.json') && contents.small.has('oci-layout')) {
      found = await importOciIndex(contents, layout, label, options.refName);
    } else if (contents.small.has('manifest.json')) {
      found = await importOldFormat(contents, layout, label, options.refName, written);
    } else {
      throw new UserError(`${label} is not a docker save archive (it has neither manifest.json nor an OCI index.json); create it with 'docker save IMAGE -o FILE'`);
    }
    // Files beside the image (anything but OCI blobs and what the manifests reference).
    const kept = new Set<string>();
    for (const image of found.images) for (const digest of await referencedBy(layout, image)) kept.add(digest);
    for (const [path, blob] of contents.blobs) if (OCI_BLOB.test(path)) kept.add(blob.digest);
    for (const blob of contents.blobs.values()) {
      if (!kept.has(blob.digest) && !before.has(blob.digest)) await rm(layout.blobPath(blob.digest), { force: true });
    }
  } catch (error) {
    for (const digest of written) if (!before.has(digest)) await rm(layout.blobPath(digest), { force: true });
    throw error;
  }
  // Listed only once everything is stored, so index.json never names a blob that is not there.
  for (const { desc, name } of found.entries) await layout.addManifest(desc, name);
  return options.refName === undefined ? found.images : found.images[0]!;
}

/**
 * Converts a `docker save` archive (a path or a stream) into a new OCI layout at `destDir`.
 * The layout is built beside it and renamed into place when complete; `destDir` must not exist
 * or be empty. Images are listed under their full normalised names (docker.io/library/x:tag).
 */
export async function readDockerArchive(archive: string | Readable, destDir: string): Promise<OciLayout> {
  await assertEmptyOrMissing(destDir);
  const partial = `${destDir}.partial-${randomBytes(4).toString('hex')}`;
  try {
    await importDockerArchive(archive, await OciLayout.create(partial));
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

/** The blobs the layout holds before an import, so that only the import's own are ever removed. */
async function blobsPresent(layout: OciLayout): Promise<Set<string>> {
  const names = await readdir(join(layout.dir, 'blobs', 'sha256')).catch(() => [] as string[]);
  return new Set(names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`));
}

async function referencedBy(layout: OciLayout, image: ImportedImage): Promise<string[]> {
  const manifest = await layout.readJson<ImageManifest>(image.manifest.digest);
  return [image.manifest.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
}

/** Streams the tar: metadata into memory, every other file into the layout as a blob. */
async function unpack(tar: Readable, layout: OciLayout, label: string, written: Set<string>): Promise<ArchiveContents> {
  const contents: ArchiveContents = { small: new Map(), blobs: new Map(), links: new Map() };
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
    tar.on('error', reject);
  });
  const store = (path: string, blob: Descriptor) => {
    written.add(blob.digest);
    contents.blobs.set(path, blob);
  };
  ex.on('entry', (header, stream, next) => {
    const name = posix.normalize(header.name).replace(/^(\.\/)+/, '').replace(/\/$/, '');
    const handle = async () => {
      if (header.type === 'symlink' && header.linkname) {
        contents.links.set(name, posix.normalize(posix.join(posix.dirname(name), header.linkname)));
        stream.resume();
      } else if (header.type !== 'file' && header.type !== 'contiguous-file') {
        stream.resume();
      } else if (OCI_BLOB.test(name)) {
        // OCI blobs are checked against their names while written.
        const digest = `sha256:${name.slice('blobs/sha256/'.length)}`;
        store(name, await layout.writeBlob(stream, 'application/octet-stream', digest));
      } else if (METADATA.test(name) && (header.size ?? 0) <= SMALL_FILE_LIMIT) {
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        contents.small.set(name, Buffer.concat(chunks));
      } else {
        store(name, await layout.writeBlob(stream, 'application/octet-stream'));
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
async function importOciIndex(contents: ArchiveContents, layout: OciLayout, label: string, refName: string | undefined): Promise<Found> {
  const index = parseJson<ImageIndex>(contents.small.get('index.json')!, 'index.json', label);
  if (!Array.isArray(index.manifests)) throw new UserError(`${label}: index.json lists no manifests; the archive is damaged`);
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
  for (const entry of index.manifests) await check(entry, 0);
  if (refName !== undefined) {
    const images = index.manifests.length === 1 ? await savedManifests(layout, index.manifests[0]!, label) : [];
    if (images.length !== 1) throw notOneImage(label, refName, index.manifests.length === 1 ? `${images.length} saved platforms of one image` : `${index.manifests.length} images`);
    const { mediaType, digest, size, platform } = images[0]!.manifest;
    return { images, entries: [{ desc: { mediaType, digest, size, ...(platform ? { platform } : {}) }, name: refName }] };
  }
  const found: Found = { images: [], entries: [] };
  for (const entry of index.manifests) {
    const name = entry.annotations?.[CONTAINERD_NAME_ANNOTATION];
    found.entries.push({ desc: entry, name: name ? normalizedOrSelf(name) : undefined });
    found.images.push(...(await savedManifests(layout, entry, label)));
  }
  return found;
}

/** The image manifests under an index entry that the archive holds (attestations left out). */
async function savedManifests(layout: OciLayout, desc: Descriptor, label: string, depth = 0): Promise<ImportedImage[]> {
  if (isManifestMediaType(desc.mediaType)) {
    const manifest = parseJson<ImageManifest>(await layout.readBlob(desc.digest), `manifest ${desc.digest}`, label);
    const config = parseJson<ImageConfig>(await layout.readBlob(manifest.config.digest), `config ${manifest.config.digest}`, label);
    const platform = desc.platform ?? platformOf(config);
    return [{ manifest: { ...desc, ...(platform ? { platform } : {}) }, config, size: imageSize(manifest.config, manifest.layers) }];
  }
  if (!isIndexMediaType(desc.mediaType) || depth > 3) return [];
  const nested = await layout.readJson<ImageIndex>(desc.digest);
  const found: ImportedImage[] = [];
  for (const child of nested.manifests) {
    if (!isAttestation(child) && (await layout.hasBlob(child.digest))) found.push(...(await savedManifests(layout, child, label, depth + 1)));
  }
  return found;
}

/** The old format: build an OCI manifest per manifest.json entry. */
async function importOldFormat(
  contents: ArchiveContents,
  layout: OciLayout,
  label: string,
  refName: string | undefined,
  written: Set<string>,
): Promise<Found> {
  const entries = parseJson<OldManifestEntry[]>(contents.small.get('manifest.json')!, 'manifest.json', label);
  if (!Array.isArray(entries) || entries.length === 0) throw new UserError(`${label}: manifest.json lists no images`);
  if (refName !== undefined && entries.length !== 1) throw notOneImage(label, refName, `${entries.length} images`);
  const write = async (data: Buffer, mediaType: string) => {
    const desc = await layout.writeBlob(data, mediaType);
    written.add(desc.digest);
    return desc;
  };
  const found: Found = { images: [], entries: [] };
  for (const entry of entries) {
    const configFile = lookup(contents, entry.Config);
    const configData = configFile.small ?? (configFile.blob ? await layout.readBlob(configFile.blob.digest) : undefined);
    if (!configData) throw new UserError(`${label} lacks the image config ${entry.Config}; the archive is incomplete`);
    const configDesc = await write(configData, MediaType.ociConfig);
    const config = parseJson<ImageConfig>(configData, entry.Config, label);
    const layers: Descriptor[] = [];
    for (const path of entry.Layers) {
      const file = lookup(contents, path);
      const blob = file.blob ?? (file.small ? await write(file.small, 'application/octet-stream') : undefined);
      if (!blob) throw new UserError(`${label} lacks the layer ${path}; the archive is incomplete`);
      layers.push({ mediaType: await layerMediaType(layout, blob.digest), digest: blob.digest, size: blob.size });
    }
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers };
    const manifestDesc = await write(Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
    const platform = platformOf(config);
    const desc: Descriptor = { ...manifestDesc, ...(platform ? { platform } : {}) };
    found.images.push({ manifest: desc, config, size: imageSize(configDesc, layers) });
    if (refName !== undefined) {
      found.entries.push({ desc, name: refName });
      continue;
    }
    const tags = entry.RepoTags ?? [];
    if (tags.length === 0) found.entries.push({ desc });
    for (const tag of tags) {
      const name = normalizedOrSelf(tag);
      found.entries.push({ desc: { ...desc, annotations: { [CONTAINERD_NAME_ANNOTATION]: name } }, name });
    }
  }
  return found;
}

function notOneImage(label: string, refName: string, found: string): UserError {
  return new UserError(`${label} holds ${found}; listing it as ${refName} needs exactly one (save a single image of one platform)`);
}

function platformOf(config: ImageConfig): Platform | undefined {
  if (typeof config.os !== 'string' || typeof config.architecture !== 'string') return undefined;
  return { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
}

function imageSize(config: Descriptor, layers: Descriptor[]): number {
  return config.size + layers.reduce((sum, l) => sum + l.size, 0);
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
