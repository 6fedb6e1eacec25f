/**
 * A client for the OCI distribution API on Node's fetch: anonymous, Basic and Bearer-token
 * auth, manifests and indexes by tag or digest, verified blob streams, monolithic and chunked
 * uploads, cross-repository mounts, tag listing with pagination, bounded retries.
 */
import { Readable } from 'node:stream';
import { UserError, log } from '@hook/log';
import { type Credentials, findCredentials } from './credentials';
import { DigestMismatchError, VerifyingStream, digestOf, isDigest, splitDigest } from './digest';
import { formatPlatform, hostPlatform, selectPlatform } from './platform';
import { DEFAULT_DOMAIN, DOCKER_HUB_REGISTRY, type ImageReference, parseNormalizedNamed, registryHostFromSetting } from './reference';
import { type Descriptor, type ImageIndex, type ImageManifest, MediaType, type Platform, isIndexMediaType } from './types';
import { setting } from '@hook/settings';

export interface RegistryClientOptions {
  /** Registries spoken to over plain HTTP (besides loopback); HOOK_INSECURE_REGISTRIES adds more. */
  insecureRegistries?: string[];
  env?: NodeJS.ProcessEnv;
  /** Docker config file; default $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
  dockerConfigPath?: string;
  /** Fixed credentials per registry host; they take precedence over env and docker config. */
  credentials?: Record<string, { username: string; password: string }>;
  /** Attempts per request on 429/5xx/network errors (default 4). */
  attempts?: number;
  /** First backoff delay (doubles each retry, default 500 ms). */
  retryDelayMs?: number;
  /** Blobs larger than this are uploaded in PATCH chunks of this size (default 64 MiB). */
  chunkSize?: number;
}

/** A blob to upload: its descriptor and a way to read (part of) it again, for retries. */
export interface BlobSource {
  digest: string;
  size: number;
  /** Bytes [start, end) of the blob. */
  open(start: number, end: number): Readable | Buffer;
}

export function bufferSource(data: Buffer): BlobSource {
  return { digest: digestOf(data), size: data.length, open: (start, end) => data.subarray(start, end) };
}

export interface FetchedManifest {
  descriptor: Descriptor;
  body: Buffer;
  json: ImageManifest | ImageIndex;
}

const MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(', ');

interface RequestSpec {
  ref: ImageReference;
  method: string;
  /** A path under the registry (`/v2/...`) or an absolute URL (upload locations). */
  url: string;
  headers?: Record<string, string>;
  body?: () => Buffer | Readable;
  /** Token scopes the request needs. */
  scopes: string[];
}

interface AuthState {
  kind: 'none' | 'basic' | 'bearer';
  realm?: string;
  service?: string;
  tokens: Map<string, { token: string; expires: number }>;
}

export class RegistryClient {
  private readonly env: NodeJS.ProcessEnv;
  private readonly insecure: Set<string>;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  readonly chunkSize: number;
  private readonly auth = new Map<string, AuthState>();

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.env = options.env ?? process.env;
    const fromEnv = setting(this.env, 'HOOK_INSECURE_REGISTRIES');
    this.insecure = new Set(
      [...(options.insecureRegistries ?? []), ...fromEnv].map((r) => registryHostFromSetting(r)).filter((r): r is string => !!r),
    );
    this.attempts = Math.max(1, options.attempts ?? 4);
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.chunkSize = options.chunkSize ?? 64 * 1024 * 1024;
  }

  /** `https://host` or, for insecure and loopback registries, `http://host`. Docker Hub's API host for docker.io. */
  baseUrl(domain: string): string {
    const host = domain === DEFAULT_DOMAIN ? DOCKER_HUB_REGISTRY : domain;
    return `${this.isPlainHttp(domain) ? 'http' : 'https'}://${host}`;
  }

  isPlainHttp(domain: string): boolean {
    if (this.insecure.has(domain)) return true;
    const host = domain.startsWith('[') ? domain.slice(0, domain.indexOf(']') + 1) : domain.split(':')[0]!;
    return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  }

  credentialsFor(domain: string): Credentials | undefined {
    const fixed = this.options.credentials?.[domain];
    if (fixed) return { ...fixed, source: 'the client options' };
    return findCredentials(domain, this.env, this.options.dockerConfigPath);
  }

  // ---------------------------------------------------------------- manifests

  /** Fetches a manifest or index by the reference's digest, else its tag (else latest). */
  async getManifest(ref: ImageReference, reference = ref.reference): Promise<FetchedManifest> {
    const response = await this.send({
      ref,
      method: 'GET',
      url: `/v2/${ref.path}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [pullScope(ref.path)],
    });
    if (response.status === 404) {
      await drain(response);
      throw new UserError(isDigest(reference) ? `manifest ${reference} not found in ${ref.name}` : `tag ${reference} not found in ${ref.name}`);
    }
    await this.expectOk(response, `fetching manifest ${reference} of ${ref.name}`);
    const body = Buffer.from(await response.arrayBuffer());
    const json = JSON.parse(body.toString('utf8')) as ImageManifest | ImageIndex;
    const mediaType = json.mediaType ?? response.headers.get('content-type')?.split(';')[0]?.trim() ?? MediaType.ociManifest;
    const digest = isDigest(reference) ? digestOf(body, splitDigest(reference).algorithm) : digestOf(body);
    if (isDigest(reference) && digest !== reference) throw new DigestMismatchError(reference, digest, `manifest of ${ref.name}`);
    return { descriptor: { mediaType, digest, size: body.length }, body, json };
  }

  /** The image manifest for a platform: follows an index (default platform: the host's). */
  async resolveManifest(ref: ImageReference, platform?: Platform): Promise<FetchedManifest & { json: ImageManifest }> {
    let fetched = await this.getManifest(ref);
    if (isIndexMediaType(fetched.descriptor.mediaType) || 'manifests' in fetched.json) {
      const index = fetched.json as ImageIndex;
      const wanted = platform ?? hostPlatform();
      const chosen = selectPlatform(index.manifests, wanted);
      if (!chosen) {
        const have = index.manifests.filter((m) => m.platform && m.platform.os !== 'unknown').map((m) => formatPlatform(m.platform!));
        throw new UserError(`${ref.familiarString()} has no image for ${formatPlatform(wanted)} (it has: ${have.join(', ') || 'no platforms'})`);
      }
      fetched = await this.getManifest(ref, chosen.digest);
      fetched.descriptor = { ...fetched.descriptor, platform: chosen.platform };
    }
    return fetched as FetchedManifest & { json: ImageManifest };
  }

  /** HEAD on a manifest: its descriptor, or undefined when the tag or digest does not exist. */
  async headManifest(ref: ImageReference, reference = ref.reference): Promise<Descriptor | undefined> {
    const response = await this.send({ ref, method: 'HEAD', url: `/v2/${ref.path}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT }, scopes: [pullScope(ref.path)] });
    if (response.status === 404) return undefined;
    await this.expectOk(response, `checking manifest ${reference} of ${ref.name}`);
    return {
      mediaType: response.headers.get('content-type')?.split(';')[0]?.trim() ?? '',
      digest: response.headers.get('docker-content-digest') ?? '',
      size: Number(response.headers.get('content-length') ?? 0),
    };
  }

  /** Uploads a manifest under a tag or its digest; returns its descriptor. */
  async putManifest(ref: ImageReference, reference: string, body: Buffer, mediaType: string): Promise<Descriptor> {
    const digest = digestOf(body);
    const response = await this.send({
      ref,
      method: 'PUT',
      url: `/v2/${ref.path}/manifests/${reference}`,
      headers: { 'content-type': mediaType },
      body: () => body,
      scopes: [pushScope(ref.path)],
    });
    await this.expectOk(response, `pushing manifest ${reference} to ${ref.name}`);
    await drain(response);
    const reported = response.headers.get('docker-content-digest');
    if (reported && reported !== digest) throw new DigestMismatchError(digest, reported, `manifest pushed to ${ref.name}`);
    return { mediaType, digest, size: body.length };
  }

  // ---------------------------------------------------------------- blobs

  async blobExists(ref: ImageReference, digest: string): Promise<boolean> {
    const response = await this.send({ ref, method: 'HEAD', url: `/v2/${ref.path}/blobs/${digest}`, scopes: [pullScope(ref.path)] });
    if (response.status === 404) return false;
    await this.expectOk(response, `checking blob ${digest} in ${ref.name}`);
    return true;
  }

  /**
   * The blob's bytes as a stream that is checked while it flows: a wrong digest or size makes
   * the stream fail at its end, so a consumer writing to a temp file never keeps bad data.
   * `verify: false` skips the check, for callers that hash the bytes anyway.
   */
  async fetchBlob(ref: ImageReference, digest: string, size?: number, options: { verify?: boolean } = {}): Promise<Readable> {
    const response = await this.send({ ref, method: 'GET', url: `/v2/${ref.path}/blobs/${digest}`, scopes: [pullScope(ref.path)] });
    if (response.status === 404) {
      await drain(response);
      throw new UserError(`blob ${digest} not found in ${ref.name}`);
    }
    await this.expectOk(response, `fetching blob ${digest} from ${ref.name}`);
    if (!response.body) throw new Error(`empty response for blob ${digest} from ${ref.name}`);
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    // Unverified only for callers that check the digest themselves (OciLayout.writeBlob).
    if (options.verify === false) return body;
    const verify = new VerifyingStream(digest, `blob from ${ref.name}`, size);
    body.once('error', (error) => verify.destroy(error));
    return body.pipe(verify);
  }

  async fetchBlobBuffer(ref: ImageReference, digest: string, size?: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.fetchBlob(ref, digest, size)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * Mounts a blob from another repository of the same registry. True when mounted; false when
   * the registry did not (the caller then uploads it).
   */
  async mountBlob(ref: ImageReference, digest: string, fromPath: string): Promise<boolean> {
    const query = `mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromPath)}`;
    const response = await this.send({ ref, method: 'POST', url: `/v2/${ref.path}/blobs/uploads/?${query}`, scopes: [pushScope(ref.path), pullScope(fromPath)] });
    await this.expectOk(response, `mounting blob ${digest} from ${fromPath} into ${ref.name}`);
    await drain(response);
    if (response.status === 201) return true;
    // 202: the registry opened an ordinary upload instead; cancel it (best effort).
    const location = response.headers.get('location');
    if (location) await this.send({ ref, method: 'DELETE', url: location, scopes: [pushScope(ref.path)] }).then(drain, () => undefined);
    return false;
  }

  /** Uploads a blob unless the repository has it; monolithic, or in chunks when large. */
  async pushBlob(ref: ImageReference, source: BlobSource, options: { mountFrom?: string } = {}): Promise<'exists' | 'mounted' | 'uploaded'> {
    if (await this.blobExists(ref, source.digest)) return 'exists';
    if (options.mountFrom && options.mountFrom !== ref.path && (await this.mountBlob(ref, source.digest, options.mountFrom))) return 'mounted';
    const start = await this.send({ ref, method: 'POST', url: `/v2/${ref.path}/blobs/uploads/`, scopes: [pushScope(ref.path)] });
    await this.expectOk(start, `starting an upload to ${ref.name}`);
    await drain(start);
    let location = this.uploadLocation(start, ref);
    if (source.size > this.chunkSize) {
      for (let offset = 0; offset < source.size; offset += this.chunkSize) {
        const end = Math.min(source.size, offset + this.chunkSize);
        const patch = await this.send({
          ref,
          method: 'PATCH',
          url: location,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - offset), 'content-range': `${offset}-${end - 1}` },
          body: () => source.open(offset, end),
          scopes: [pushScope(ref.path)],
        });
        await this.expectOk(patch, `uploading bytes ${offset}-${end - 1} of ${source.digest} to ${ref.name}`);
        await drain(patch);
        location = this.uploadLocation(patch, ref);
      }
      const put = await this.send({
        ref,
        method: 'PUT',
        url: withQuery(location, `digest=${encodeURIComponent(source.digest)}`),
        headers: { 'content-length': '0' },
        scopes: [pushScope(ref.path)],
      });
      await this.expectOk(put, `finishing the upload of ${source.digest} to ${ref.name}`);
      await drain(put);
    } else {
      const put = await this.send({
        ref,
        method: 'PUT',
        url: withQuery(location, `digest=${encodeURIComponent(source.digest)}`),
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(source.size) },
        body: () => source.open(0, source.size),
        scopes: [pushScope(ref.path)],
      });
      await this.expectOk(put, `uploading ${source.digest} to ${ref.name}`);
      await drain(put);
    }
    return 'uploaded';
  }

  // ---------------------------------------------------------------- tags

  /** All tags of a repository, following `Link: <...>; rel="next"` pages. */
  async listTags(ref: ImageReference, pageSize?: number): Promise<string[]> {
    const tags: string[] = [];
    let url: string | undefined = `/v2/${ref.path}/tags/list${pageSize ? `?n=${pageSize}` : ''}`;
    for (let page = 0; url && page < 10_000; page++) {
      const response = await this.send({ ref, method: 'GET', url, scopes: [pullScope(ref.path)] });
      if (response.status === 404) {
        await drain(response);
        throw new UserError(`repository ${ref.name} not found`);
      }
      await this.expectOk(response, `listing tags of ${ref.name}`);
      const body = (await response.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      url = nextLink(response.headers.get('link'));
    }
    return tags;
  }

  // ---------------------------------------------------------------- HTTP core

  private uploadLocation(response: Response, ref: ImageReference): string {
    const location = response.headers.get('location');
    if (!location) throw new Error(`${ref.domain} answered an upload request without a Location header`);
    return new URL(location, this.baseUrl(ref.domain)).toString();
  }

  /** Sends a request with auth (answering one 401 challenge) and bounded retries on 429/5xx/network errors. */
  async send(spec: RequestSpec): Promise<Response> {
    const registry = spec.ref.domain;
    const url = new URL(spec.url, this.baseUrl(registry)).toString();
    let challenged = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { ...spec.headers };
      const authorization = await this.authorization(spec.ref, spec.scopes);
      if (authorization) headers.authorization = authorization;
      let response: Response;
      try {
        const body = spec.body?.();
        response = await fetch(url, {
          method: spec.method,
          headers,
          body: body as RequestInit['body'],
          redirect: 'follow',
          ...(body && !Buffer.isBuffer(body) ? { duplex: 'half' } : {}),
        } as RequestInit);
      } catch (error) {
        if (attempt < this.attempts) {
          await this.backoff(attempt, `${spec.method} ${url}: ${describeNetworkError(error)}`);
          continue;
        }
        throw new UserError(`cannot reach registry ${registry} (${this.baseUrl(registry)}): ${describeNetworkError(error)}; check the registry name, the network and proxy settings${this.isPlainHttp(registry) ? '' : ', or add it to HOOK_INSECURE_REGISTRIES if it speaks plain HTTP'}`);
      }
      if (response.status === 401) {
        await drain(response);
        if (!challenged) {
          challenged = true;
          await this.answerChallenge(spec.ref, response.headers.get('www-authenticate'), spec.scopes);
          attempt--; // answering the challenge is not a retry
          continue;
        }
        throw this.credentialsError(registry, spec.ref);
      }
      if ((response.status === 429 || response.status >= 500) && attempt < this.attempts) {
        const retryAfter = Number(response.headers.get('retry-after'));
        await drain(response);
        await this.backoff(attempt, `${spec.method} ${url}: HTTP ${response.status}`, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
        continue;
      }
      return response;
    }
  }

  private async backoff(attempt: number, why: string, hintMs?: number): Promise<void> {
    const delay = Math.min(hintMs ?? this.retryDelayMs * 2 ** (attempt - 1), 10_000);
    log.debug(`${why}; retrying in ${delay} ms (attempt ${attempt + 1} of ${this.attempts})`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }

  private state(registry: string): AuthState {
    let state = this.auth.get(registry);
    if (!state) {
      state = { kind: 'none', tokens: new Map() };
      this.auth.set(registry, state);
    }
    return state;
  }

  private async authorization(ref: ImageReference, scopes: string[]): Promise<string | undefined> {
    const state = this.state(ref.domain);
    if (state.kind === 'basic') {
      const creds = this.credentialsFor(ref.domain);
      return creds ? basicHeader(creds) : undefined;
    }
    if (state.kind === 'bearer') {
      const key = scopes.join(' ');
      const cached = state.tokens.get(key);
      if (cached && cached.expires > Date.now()) return `Bearer ${cached.token}`;
      return `Bearer ${await this.fetchToken(ref, state, scopes)}`;
    }
    return undefined;
  }

  private async answerChallenge(ref: ImageReference, header: string | null, scopes: string[]): Promise<void> {
    const state = this.state(ref.domain);
    const challenge = parseChallenge(header ?? '');
    if (challenge.scheme === 'bearer' && challenge.params.realm) {
      state.kind = 'bearer';
      state.realm = challenge.params.realm;
      state.service = challenge.params.service;
      state.tokens.delete(scopes.join(' '));
    } else if (challenge.scheme === 'basic') {
      if (!this.credentialsFor(ref.domain)) throw this.credentialsError(ref.domain, ref);
      state.kind = 'basic';
    } else {
      throw new UserError(`registry ${ref.domain} refused access to ${ref.path} with an authentication scheme hook does not support (${header || 'no WWW-Authenticate header'})`);
    }
  }

  private async fetchToken(ref: ImageReference, state: AuthState, scopes: string[]): Promise<string> {
    const url = new URL(state.realm!);
    if (state.service) url.searchParams.set('service', state.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const creds = this.credentialsFor(ref.domain);
    const headers: Record<string, string> = creds ? { authorization: basicHeader(creds) } : {};
    let response: Response | undefined;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        response = await fetch(url, { headers });
      } catch (error) {
        if (attempt === this.attempts) throw new UserError(`cannot reach the token service ${url.origin} of registry ${ref.domain}: ${describeNetworkError(error)}`);
        await this.backoff(attempt, `token ${url.origin}: ${describeNetworkError(error)}`);
        continue;
      }
      if ((response.status === 429 || response.status >= 500) && attempt < this.attempts) {
        await drain(response);
        await this.backoff(attempt, `token ${url.origin}: HTTP ${response.status}`);
        continue;
      }
      break;
    }
    if (!response) throw new Error('unreachable');
    if (response.status === 401 || response.status === 403) {
      await drain(response);
      throw this.credentialsError(ref.domain, ref);
    }
    if (!response.ok) {
      await drain(response);
      throw new UserError(`the token service of registry ${ref.domain} (${url.origin}) answered HTTP ${response.status}`);
    }
    const body = (await response.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new UserError(`the token service of registry ${ref.domain} (${url.origin}) returned no token`);
    // Renew a little early; the spec's default lifetime is 60 s.
    const lifetime = Math.max(10, (body.expires_in ?? 60) - 5) * 1000;
    state.tokens.set(scopes.join(' '), { token, expires: Date.now() + lifetime });
    return token;
  }

  private credentialsError(registry: string, ref: ImageReference): UserError {
    const creds = this.credentialsFor(registry);
    if (creds) {
      return new UserError(
        `registry ${registry} rejected the credentials of user ${creds.username} (from ${creds.source}) for ${ref.path}; run 'docker login ${registry}' or set HOOK_REGISTRY=${registry} HOOK_REGISTRY_USERNAME and HOOK_REGISTRY_PASSWORD to valid ones`,
      );
    }
    return new UserError(
      `registry ${registry} requires credentials for ${ref.path}; run 'docker login ${registry}' or set HOOK_REGISTRY=${registry} HOOK_REGISTRY_USERNAME and HOOK_REGISTRY_PASSWORD`,
    );
  }

  private async expectOk(response: Response, what: string): Promise<void> {
    if (response.ok) return;
    const text = await response.text().catch(() => '');
    let detail = text.trim().slice(0, 200);
    try {
      const errors = (JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> }).errors;
      if (errors?.length) detail = errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
    } catch {
      // not JSON: keep the text
    }
    if (response.status === 403) throw new UserError(`${what}: access denied by the registry (${detail || 'HTTP 403'}); check that your account may do this`);
    throw new UserError(`${what} failed: HTTP ${response.status}${detail ? ` ${detail}` : ''}`);
  }
}

function pullScope(path: string): string {
  return `repository:${path}:pull`;
}
function pushScope(path: string): string {
  return `repository:${path}:pull,push`;
}

function basicHeader(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

async function drain(response: Response): Promise<void> {
  await response.arrayBuffer().catch(() => undefined);
}

function withQuery(url: string, query: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

/** The URL of `Link: <url>; rel="next"`, if any. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part.trim());
    if (match) return match[1];
  }
  return undefined;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (quoted values may hold commas). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).trim().toLowerCase();
  const params: Record<string, string> = {};
  const rest = header.slice(space + 1);
  const re = /([a-zA-Z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return { scheme, params };
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

/** Parses a user's image reference (adding `latest`), for the helpers below. */
export function toReference(ref: string | ImageReference): ImageReference {
  return typeof ref === 'string' ? parseNormalizedNamed(ref).withDefaultTag() : ref;
}
