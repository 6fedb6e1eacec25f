/**
 * What the build does with registries: pull an image into an OCI layout, push a layout image,
 * list tags, and push/pull ORAS-style artifacts (files as layers of a manifest with an
 * artifactType and the empty config).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Progress, UserError, formatBytes, log } from '@hook/log';
import { isDigest, sha256OfFile } from './digest';
import { type OciLayout, type ResolvedImage } from './layout';
import { type ImageReference, parseNormalizedNamed } from './reference';
import { type BlobSource, RegistryClient, bufferSource, toReference } from './registry';
import { CONTAINERD_NAME_ANNOTATION, type Descriptor, EMPTY_JSON, type ImageIndex, type ImageManifest, MediaType, type Platform, isIndexMediaType } from './types';

export const TITLE_ANNOTATION = 'org.opencontainers.image.title';

export interface TransferOptions {
  client?: RegistryClient;
}

function clientOf(options: TransferOptions): RegistryClient {
  return options.client ?? new RegistryClient();
}

/**
 * Pulls the image for a platform (default: the host's) into a layout and lists it under
 * `refName` (default: the full normalised reference, e.g. docker.io/library/alpine:3.20).
 * Blobs already in the layout are not downloaded again.
 */
export async function pullImageToLayout(
  ref: string | ImageReference,
  platform: Platform | undefined,
  layout: OciLayout,
  options: TransferOptions & { refName?: string } = {},
): Promise<ResolvedImage> {
  const client = clientOf(options);
  const reference = toReference(ref);
  const fetched = await client.resolveManifest(reference, platform);
  const manifest = fetched.json;
  const blobs = [manifest.config, ...manifest.layers];
  const total = blobs.reduce((sum, b) => sum + b.size, 0);
  const progress = new Progress(`pulling ${reference.familiarString()}`, total);
  let done = 0;
  for (const blob of blobs) {
    if (!(await layout.hasBlob(blob.digest))) {
      // writeBlob hashes what it stores and refuses a mismatch: one hash pass instead of two.
      const stream = await client.fetchBlob(reference, blob.digest, blob.size, { verify: false });
      await layout.writeBlob(stream, blob.mediaType, blob.digest, `blob from ${reference.name}`);
    }
    done += blob.size;
    progress.update(done);
  }
  await layout.writeBlob(fetched.body, fetched.descriptor.mediaType, fetched.descriptor.digest);
  const refName = options.refName ?? reference.toString();
  await layout.addManifest({ ...fetched.descriptor, annotations: { [CONTAINERD_NAME_ANNOTATION]: reference.toString() } }, refName);
  progress.finish(total);
  return layout.resolveImage(refName, platform);
}

/** A blob of a layout, readable in ranges (for chunked uploads and retries). */
function layoutSource(layout: OciLayout, desc: Descriptor): BlobSource {
  return {
    digest: desc.digest,
    size: desc.size,
    open: (start, end) => (end <= start ? Buffer.alloc(0) : createReadStream(layout.blobPath(desc.digest), { start, end: end - 1 })),
  };
}

/**
 * Pushes a layout image (a manifest, or an index with its manifests) to `targetRef`. Blobs the
 * repository has are skipped; with `mountFrom` (a repository path on the same registry) they
 * are mounted instead of uploaded when possible. Returns the pushed top descriptor.
 */
export async function pushLayoutImage(
  layout: OciLayout,
  refName: string | undefined,
  targetRef: string | ImageReference,
  options: TransferOptions & { mountFrom?: string } = {},
): Promise<Descriptor> {
  const client = clientOf(options);
  const target = toReference(targetRef);
  const entry = await layout.findEntry(refName);
  const pushManifest = async (desc: Descriptor, tag?: string): Promise<Descriptor> => {
    const body = await layout.readBlob(desc.digest);
    const manifest = JSON.parse(body.toString('utf8')) as ImageManifest;
    for (const blob of [manifest.config, ...manifest.layers]) {
      const outcome = await client.pushBlob(target, layoutSource(layout, blob), { mountFrom: options.mountFrom });
      log.debug(`${blob.digest} (${formatBytes(blob.size)}): ${outcome}`);
    }
    return client.putManifest(target, tag ?? desc.digest, body, desc.mediaType);
  };
  const tag = target.digest ? target.digest : (target.tag ?? 'latest');
  let pushed: Descriptor;
  if (isIndexMediaType(entry.mediaType)) {
    const body = await layout.readBlob(entry.digest);
    const index = JSON.parse(body.toString('utf8')) as ImageIndex;
    for (const child of index.manifests) {
      if (!(await layout.hasBlob(child.digest))) {
        throw new UserError(`the OCI layout ${layout.dir} lacks manifest ${child.digest} of its index ${entry.digest}; pull or build all platforms before pushing`);
      }
      await pushManifest(child);
    }
    pushed = await client.putManifest(target, tag, body, entry.mediaType);
  } else {
    pushed = await pushManifest(entry, tag);
  }
  log.info(`pushed ${target.familiarString()} (${pushed.digest})`);
  return pushed;
}

/** All tags of a repository (`ghcr.io/org/repo`, `127.0.0.1:5000/x`). */
export async function listTags(repo: string | ImageReference, options: TransferOptions & { pageSize?: number } = {}): Promise<string[]> {
  const reference = typeof repo === 'string' ? parseNormalizedNamed(repo) : repo;
  return clientOf(options).listTags(reference, options.pageSize);
}

export type ArtifactFile = string | { path: string; mediaType?: string; title?: string };

/** Hashes a file without reading it into memory, and describes it as an upload source. */
async function fileSource(path: string): Promise<BlobSource> {
  const { sha256, size } = await sha256OfFile(path);
  return {
    digest: `sha256:${sha256}`,
    size,
    open: (start, end) => (end <= start ? Buffer.alloc(0) : createReadStream(path, { start, end: end - 1 })),
  };
}

/**
 * Pushes files as an OCI artifact (as `oras push` does): each file a layer titled with its
 * name, the empty config (or a given one), and `artifactType` on the manifest.
 */
export async function pushArtifact(
  ref: string | ImageReference,
  files: ArtifactFile[],
  artifactType: string,
  options: TransferOptions & { annotations?: Record<string, string>; config?: { mediaType: string; data: Buffer } } = {},
): Promise<Descriptor> {
  const client = clientOf(options);
  const target = toReference(ref);
  const layers: Descriptor[] = [];
  const titles = new Set<string>();
  for (const file of files) {
    const spec = typeof file === 'string' ? { path: file } : file;
    const title = spec.title ?? basename(spec.path);
    if (titles.has(title)) throw new UserError(`two artifact files are both named ${title}; give them distinct names`);
    titles.add(title);
    const source = await fileSource(spec.path).catch((error: NodeJS.ErrnoException) => {
      throw new UserError(`cannot read artifact file ${spec.path}: ${error.code ?? error.message}`);
    });
    await client.pushBlob(target, source);
    layers.push({ mediaType: spec.mediaType ?? 'application/octet-stream', digest: source.digest, size: source.size, annotations: { [TITLE_ANNOTATION]: title } });
  }
  const configData = options.config?.data ?? EMPTY_JSON;
  const config = bufferSource(configData);
  await client.pushBlob(target, config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: { mediaType: options.config?.mediaType ?? MediaType.ociEmpty, digest: config.digest, size: config.size },
    layers,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const pushed = await client.putManifest(target, target.digest ?? target.tag ?? 'latest', body, MediaType.ociManifest);
  log.info(`pushed artifact ${target.familiarString()} (${layers.length} files, ${pushed.digest})`);
  return { ...pushed, artifactType };
}

export interface PulledArtifact {
  descriptor: Descriptor;
  manifest: ImageManifest;
  artifactType?: string;
  /** Absolute paths of the files written, in layer order. */
  files: string[];
}

/**
 * Pulls an artifact's layers as files named by their titles into `destDir`. Each file is
 * written under a temp name and renamed once its digest is verified.
 */
export async function pullArtifact(ref: string | ImageReference, destDir: string, options: TransferOptions = {}): Promise<PulledArtifact> {
  const client = clientOf(options);
  const source = toReference(ref);
  const fetched = await client.getManifest(source);
  if (!('layers' in fetched.json)) {
    throw new UserError(`${source.familiarString()} is an index, not an artifact manifest; name a single artifact (by tag or digest)`);
  }
  const manifest = fetched.json;
  const names = manifest.layers.map((layer) => {
    const title = layer.annotations?.[TITLE_ANNOTATION] ?? layer.digest.replace(':', '-');
    if (!title || title === '.' || title === '..' || /[/\\]/.test(title) || title.includes('\0')) {
      throw new UserError(`${source.familiarString()} has a file named ${JSON.stringify(title)}, which is not a plain file name; refusing to write it`);
    }
    return title;
  });
  await mkdir(destDir, { recursive: true });
  const files: string[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    if (!isDigest(layer.digest)) throw new UserError(`${source.familiarString()} has a layer with an invalid digest ${JSON.stringify(layer.digest)}`);
    const path = join(destDir, names[i]!);
    const temp = join(destDir, `.${names[i]}.tmp-${randomBytes(4).toString('hex')}`);
    try {
      await pipeline(await client.fetchBlob(source, layer.digest, layer.size), createWriteStream(temp));
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    files.push(path);
  }
  return { descriptor: fetched.descriptor, manifest, artifactType: manifest.artifactType ?? manifest.config.mediaType, files };
}

/**
 * The artifact calls a library makes against registries, as one swappable object: a test may
 * count or replace them (the kernel's Armbian and USE_LATEST_BUILT_KERNEL lookups, Armbian's U-Boot).
 */
export interface ArtifactRegistry {
  /** Tags of a repository such as `ghcr.io/armbian/os/kernel-meson64-edge`; empty when it has none. */
  listTags(repository: string): Promise<string[]>;
  /** Downloads an artifact's files into `destDir` and returns their paths. */
  pullArtifact(reference: string, destDir: string): Promise<string[]>;
}

/** The real registries, with the credentials and settings of `env`. */
export function artifactRegistry(env: NodeJS.ProcessEnv): ArtifactRegistry {
  const client = new RegistryClient({ env });
  return {
    listTags: (repository) => listTags(repository, { client }),
    pullArtifact: async (reference, destDir) => (await pullArtifact(reference, destDir, { client })).files,
  };
}
