/**
 * OCI image layout on disk (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), the format the
 * build keeps its images in. Blobs are content addressed and written atomically (temp name,
 * then rename), so an interrupted write never leaves a blob with wrong content.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { UserError } from '@hook/log';
import { spawnFilter } from '@hook/process';
import { DigestMismatchError, digestOf, isDigest, splitDigest } from './digest';
import { parseImageReference } from './reference';
import { formatPlatform, hostPlatform, isAttestation, normalizePlatform, platformMatches, selectPlatform } from './platform';
import {
  CONTAINERD_NAME_ANNOTATION,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  MediaType,
  type Platform,
  REF_NAME_ANNOTATION,
  isIndexMediaType,
  isManifestMediaType,
} from './types';

export type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from './types';

export interface ResolvedImage {
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  layers: Descriptor[];
}

const LAYOUT_FILE = 'oci-layout';
const INDEX_FILE = 'index.json';

export class OciLayout {
  /** Serializes index.json updates made through this object. */
  private indexLock: Promise<unknown> = Promise.resolve();

  private constructor(readonly dir: string) {}

  /** Opens an existing layout; a UserError when `dir` is not one. */
  static async open(dir: string): Promise<OciLayout> {
    let text: string;
    try {
      text = await readFile(join(dir, LAYOUT_FILE), 'utf8');
    } catch {
      throw new UserError(`${dir} is not an OCI image layout (no ${LAYOUT_FILE} file); build or pull the image into it first`);
    }
    let version: unknown;
    try {
      version = (JSON.parse(text) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    } catch {
      throw new UserError(`${join(dir, LAYOUT_FILE)} is not valid JSON; delete ${dir} and rebuild it`);
    }
    if (typeof version !== 'string' || !version.startsWith('1.')) {
      throw new UserError(`${dir} has an unsupported OCI layout version ${JSON.stringify(version)} (want 1.x)`);
    }
    return new OciLayout(dir);
  }

  /** Creates a layout (or opens the one already there) with an empty index. */
  static async create(dir: string): Promise<OciLayout> {
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    const exists = await stat(join(dir, LAYOUT_FILE)).then(
      () => true,
      () => false,
    );
    if (exists) return OciLayout.open(dir);
    const layout = new OciLayout(dir);
    await layout.writeIndex({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] });
    await writeFileAtomic(join(dir, LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    return layout;
  }

  async readIndex(): Promise<ImageIndex> {
    const path = join(this.dir, INDEX_FILE);
    let index: ImageIndex;
    try {
      index = JSON.parse(await readFile(path, 'utf8')) as ImageIndex;
    } catch (error) {
      throw new UserError(`cannot read ${path}: ${(error as Error).message}`);
    }
    if (index.schemaVersion !== 2 || !Array.isArray(index.manifests)) {
      throw new UserError(`${path} is not an OCI image index (schemaVersion 2 with manifests)`);
    }
    return index;
  }

  blobPath(digest: string): string {
    const { algorithm, hex } = splitDigest(digest);
    return join(this.dir, 'blobs', algorithm, hex);
  }

  async hasBlob(digest: string): Promise<boolean> {
    return stat(this.blobPath(digest)).then(
      () => true,
      () => false,
    );
  }

  /** Reads a whole blob and checks it against its digest. */
  async readBlob(digest: string): Promise<Buffer> {
    const path = this.blobPath(digest);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch {
      throw new UserError(`blob ${digest} is missing from the OCI layout ${this.dir}; pull or build the image again`);
    }
    const actual = digestOf(data, splitDigest(digest).algorithm);
    if (actual !== digest) throw new DigestMismatchError(digest, actual, `${path}`);
    return data;
  }

  async readJson<T>(digest: string): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString('utf8')) as T;
  }

  /** The blob's raw bytes (not verified: large layers are checked by whoever needs to). */
  blobStream(digest: string): Readable {
    return createReadStream(this.blobPath(digest));
  }

  /**
   * Stores data under its sha256 digest. With `expectedDigest`, a mismatch fails and nothing is
   * kept (`source` names where the data came from in that error).
   */
  async writeBlob(data: Buffer | Readable, mediaType: string, expectedDigest?: string, source = `blob written to ${this.dir}`): Promise<Descriptor> {
    // The stream may fail before the pipeline below listens (it is flowing already, e.g. a
    // verifying download); pipeline still sees that error, this only keeps it from being unhandled.
    if (!Buffer.isBuffer(data)) data.on('error', () => undefined);
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    const temp = join(this.dir, 'blobs', 'sha256', `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    try {
      if (Buffer.isBuffer(data)) {
        hash.update(data);
        size = data.length;
        await writeFile(temp, data);
      } else {
        const counter = new Transform({
          transform(chunk: Buffer, _enc, callback) {
            hash.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        });
        await pipeline(data, counter, createWriteStream(temp));
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (expectedDigest && expectedDigest !== digest) throw new DigestMismatchError(expectedDigest, digest, source);
      await rename(temp, this.blobPath(digest));
      return { mediaType, digest, size };
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async writeJsonBlob(value: unknown, mediaType: string): Promise<Descriptor> {
    return this.writeBlob(Buffer.from(JSON.stringify(value)), mediaType);
  }

  /**
   * Lists a manifest (or index) in index.json. With a ref name, an entry with the same name is
   * replaced, as a tag moves.
   */
  async addManifest(desc: Descriptor, refName?: string): Promise<void> {
    await this.updateIndex((index) => {
      const entry: Descriptor = { ...desc };
      if (refName) entry.annotations = { ...desc.annotations, [REF_NAME_ANNOTATION]: refName };
      const name = entry.annotations?.[REF_NAME_ANNOTATION];
      const kept = index.manifests.filter((m) =>
        name ? m.annotations?.[REF_NAME_ANNOTATION] !== name : !(m.digest === entry.digest && !m.annotations?.[REF_NAME_ANNOTATION]),
      );
      return { ...index, manifests: [...kept, entry] };
    });
  }

  /** Drops the entries with this ref name from index.json (the blobs stay). */
  async removeManifest(refName: string): Promise<void> {
    await this.updateIndex((index) => ({ ...index, manifests: index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== refName) }));
  }

  /** The ref names in index.json, in order. */
  async refNames(): Promise<string[]> {
    const index = await this.readIndex();
    return index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).filter((n): n is string => !!n);
  }

  /**
   * Finds the image by ref name (or the only one) and platform; follows an index to the
   * manifest. Without a platform, a multi-platform index is resolved for the host platform.
   */
  async resolveImage(refName?: string, platform?: Platform): Promise<ResolvedImage> {
    const top = await this.findEntry(refName);
    const manifestDescriptor = await this.followToManifest(top, platform, refName ?? top.digest);
    const manifest = await this.readJson<ImageManifest>(manifestDescriptor.digest);
    const config = await this.readJson<ImageConfig>(manifest.config.digest);
    if (platform && config.os && config.architecture && manifest.config.mediaType !== MediaType.ociEmpty) {
      const actual = { os: config.os, architecture: config.architecture, variant: config.variant };
      if (!platformMatches(actual, platform)) {
        throw new UserError(
          `image ${refName ?? manifestDescriptor.digest} in ${this.dir} is ${formatPlatform(actual)}, not ${formatPlatform(platform)}; build or pull it for ${formatPlatform(platform)}`,
        );
      }
    }
    return { manifestDescriptor, manifest, config, layers: manifest.layers };
  }

  /**
   * The index.json entry for a ref name (or the only entry). Matches the ref-name annotation,
   * the full image name Docker/containerd record, the normalised reference, or a digest.
   */
  async findEntry(refName?: string): Promise<Descriptor> {
    const entries = (await this.readIndex()).manifests;
    if (!refName) {
      if (entries.length === 1) return entries[0]!;
      if (entries.length === 0) throw new UserError(`the OCI layout ${this.dir} holds no image`);
      const names = entries.map((m) => m.annotations?.[REF_NAME_ANNOTATION] ?? m.digest).join(', ');
      throw new UserError(`the OCI layout ${this.dir} holds ${entries.length} images (${names}); name the one to use`);
    }
    const found =
      entries.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === refName) ??
      entries.find((m) => m.annotations?.[CONTAINERD_NAME_ANNOTATION] === refName) ??
      entries.find((m) => m.digest === refName) ??
      this.findNormalized(entries, refName);
    if (found) return found;
    const names = entries.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).filter(Boolean);
    throw new UserError(`image ${JSON.stringify(refName)} is not in the OCI layout ${this.dir} (it has: ${names.join(', ') || 'no named images'})`);
  }

  /** `alpine:3.20` finds an entry named `docker.io/library/alpine:3.20` and the reverse. */
  private findNormalized(entries: Descriptor[], refName: string): Descriptor | undefined {
    const normal = (name: string | undefined) => {
      if (!name) return undefined;
      try {
        return parseImageReference(name).toString();
      } catch {
        return undefined;
      }
    };
    const wanted = normal(refName);
    if (!wanted) return undefined;
    return entries.find((m) => normal(m.annotations?.[REF_NAME_ANNOTATION]) === wanted || normal(m.annotations?.[CONTAINERD_NAME_ANNOTATION]) === wanted);
  }

  /** Walks nested indexes (bounded) down to the image manifest for the platform. */
  private async followToManifest(desc: Descriptor, platform: Platform | undefined, label: string): Promise<Descriptor> {
    let current = desc;
    for (let depth = 0; depth < 4; depth++) {
      if (isManifestMediaType(current.mediaType)) return current;
      if (!isIndexMediaType(current.mediaType)) {
        throw new UserError(`${label} in ${this.dir} has media type ${current.mediaType}, which is not an image manifest or index`);
      }
      const nested = await this.readJson<ImageIndex>(current.digest);
      const wanted = platform ?? hostPlatform();
      const images = nested.manifests.filter((m) => !isAttestation(m));
      // An index without platforms around one manifest (Docker >= 25 save) just wraps it.
      const chosen = selectPlatform(nested.manifests, wanted) ?? (images.length === 1 && !images[0]!.platform ? images[0] : undefined);
      if (!chosen) {
        const have = images.map((m) => (m.platform ? formatPlatform(m.platform) : '?')).join(', ');
        throw new UserError(`${label} in ${this.dir} has no image for ${formatPlatform(normalizePlatform(wanted))} (it has: ${have || 'nothing'})`);
      }
      current = chosen;
    }
    throw new UserError(`${label} in ${this.dir}: indexes nested too deep`);
  }

  private async writeIndex(index: ImageIndex): Promise<void> {
    await writeFileAtomic(join(this.dir, INDEX_FILE), JSON.stringify(index, null, 2));
  }

  private async updateIndex(change: (index: ImageIndex) => ImageIndex): Promise<void> {
    const next = this.indexLock.then(async () => this.writeIndex(change(await this.readIndex())));
    this.indexLock = next.catch(() => undefined);
    await next;
  }
}

export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Wraps a layer's bytes, whatever their compression, as an uncompressed tar stream. */
export function decompressStream(source: Readable, label: string): Readable {
  const out = new PassThrough();
  const fail = (error: unknown) => out.destroy(typeof error === 'object' && error !== null ? (error as Error) : new Error(String(error)));
  source.once('error', fail);
  sniff(source)
    .then(async ({ head, rest }) => {
      if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
        const gunzip = createGunzip();
        gunzip.once('error', (e) => fail(new Error(`${label}: cannot gunzip: ${e.message}`)));
        rest.pipe(gunzip).pipe(out);
      } else if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) {
        const zstd = await spawnFilter('zstd', ['-dc', '-q']);
        zstd.stdin.on('error', () => undefined); // the exit status reports the real problem
        rest.pipe(zstd.stdin);
        zstd.stdout.pipe(out, { end: false });
        const ended = new Promise<void>((resolve) => zstd.stdout.once('end', resolve));
        await Promise.all([zstd.done, ended]);
        out.end();
      } else {
        rest.pipe(out);
      }
    })
    .catch(fail);
  return out;
}

/** Reads the first bytes of a stream and gives back a stream that still starts with them. */
async function sniff(source: Readable): Promise<{ head: Buffer; rest: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  const iterator = source[Symbol.asyncIterator]();
  while (length < 4) {
    const { value, done } = await iterator.next();
    if (done) break;
    chunks.push(value as Buffer);
    length += (value as Buffer).length;
  }
  const head = Buffer.concat(chunks);
  const rest = Readable.from(
    (async function* () {
      if (head.length) yield head;
      for (;;) {
        const { value, done } = await iterator.next();
        if (done) return;
        yield value as Buffer;
      }
    })(),
    { objectMode: false },
  );
  return { head, rest };
}

/**
 * A layer as an uncompressed tar: gzip through zlib, zstd through `zstd -dc` (Debian package
 * zstd), plain tar as is. The compression is detected from the bytes, because media types in
 * old `docker save` archives say tar for gzip data.
 */
export function openLayerStream(layout: OciLayout, layer: Descriptor): Readable {
  if (!isDigest(layer.digest)) throw new Error(`layer has no valid digest: ${JSON.stringify(layer.digest)}`);
  return decompressStream(layout.blobStream(layer.digest), `layer ${layer.digest}`);
}
