// Needs Debian packages docker-registry and apache2-utils (the real registry on loopback).
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { UserError } from '@hook/log';
import { type TestRegistry, freeLoopbackPort, startRegistry } from '@hook/testing';
import { DigestMismatchError } from './digest';
import { OciLayout, openLayerStream } from './layout';
import { parseImageReference, parseNormalizedNamed } from './reference';
import { RegistryClient, bufferSource } from './registry';
import { buildTestImage, tarOf } from './testing/test-image';
import { listTags, pullArtifact, pullImageToLayout, pushArtifact, pushLayoutImage } from './transfer';
import { MediaType } from './types';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const FAST = { attempts: 2, retryDelayMs: 10 };
// Integration tests against real servers: generous on a busy machine, bounded everywhere.
jest.setTimeout(30_000);

describe('registry client (integration: real docker-registry, anonymous)', () => {
  let registry: TestRegistry;
  let work: string;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'oci-registry-'));
    client = new RegistryClient({ ...FAST, env: {} });
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('speaks plain HTTP to loopback and to registries marked insecure, HTTPS otherwise', () => {
    const c = new RegistryClient({ insecureRegistries: ['myreg:5000'], env: { HOOK_INSECURE_REGISTRIES: 'other.lan,https://third:1' } });
    expect(c.baseUrl(registry.host)).toBe(`http://${registry.host}`);
    expect(c.baseUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(c.baseUrl('[::1]:5000')).toBe('http://[::1]:5000');
    expect(c.baseUrl('myreg:5000')).toBe('http://myreg:5000');
    expect(c.baseUrl('other.lan')).toBe('http://other.lan');
    expect(c.baseUrl('third:1')).toBe('http://third:1');
    expect(c.baseUrl('myreg:5001')).toBe('https://myreg:5001');
    expect(c.baseUrl('127.example.com')).toBe('https://127.example.com');
    expect(c.baseUrl('docker.io')).toBe('https://registry-1.docker.io');
  });

  it('pushes a layout image and pulls it back into another layout, byte for byte', async () => {
    const source = await OciLayout.create(join(work, 'src'));
    const image = await buildTestImage(source, { files: { 'etc/motd': 'hello hook\n', 'bin/tool': Buffer.alloc(3000, 1) } });
    await source.addManifest(image.manifestDescriptor, 'tiny');
    const target = `${registry.host}/hook/tiny:v1`;
    const pushed = await pushLayoutImage(source, 'tiny', target, { client });
    expect(pushed.digest).toBe(image.manifestDescriptor.digest);
    expect(await client.headManifest(parseImageReference(target))).toMatchObject({ digest: pushed.digest, mediaType: MediaType.ociManifest });
    // pushing again uploads nothing new and gives the same digest
    expect((await pushLayoutImage(source, 'tiny', target, { client })).digest).toBe(pushed.digest);

    const dest = await OciLayout.create(join(work, 'dest'));
    const pulled = await pullImageToLayout(target, { os: 'linux', architecture: 'amd64' }, dest, { client });
    expect(pulled.manifestDescriptor.digest).toBe(pushed.digest);
    expect(pulled.config).toEqual(image.config);
    expect(await collect(openLayerStream(dest, pulled.layers[0]!))).toEqual(image.layerTars[0]);
    // the layout lists it under the full name and finds it by the familiar one too
    expect(await dest.refNames()).toEqual([`${registry.host}/hook/tiny:v1`]);
    expect((await dest.resolveImage(target)).manifestDescriptor.digest).toBe(pushed.digest);
  });

  it('uploads big blobs in PATCH chunks', async () => {
    const chunky = new RegistryClient({ ...FAST, env: {}, chunkSize: 1000 });
    const data = Buffer.from(Array.from({ length: 4500 }, (_, i) => i % 251));
    const ref = parseImageReference(`${registry.host}/hook/chunks:x`);
    const sent: string[] = [];
    const send = chunky.send.bind(chunky);
    jest.spyOn(chunky, 'send').mockImplementation(async (spec) => {
      sent.push(`${spec.method} ${spec.headers?.['content-range'] ?? ''}`.trim());
      return send(spec);
    });
    expect(await chunky.pushBlob(ref, bufferSource(data))).toBe('uploaded');
    expect(sent.filter((s) => s.startsWith('PATCH'))).toEqual(['PATCH 0-999', 'PATCH 1000-1999', 'PATCH 2000-2999', 'PATCH 3000-3999', 'PATCH 4000-4499']);
    expect(await collect(await client.fetchBlob(ref, bufferSource(data).digest, data.length))).toEqual(data);
    expect(await chunky.pushBlob(ref, bufferSource(data))).toBe('exists');
  });

  it('selects the platform from a multi-arch index', async () => {
    const layout = await OciLayout.create(join(work, 'multi'));
    const amd = await buildTestImage(layout, { files: { arch: 'amd64' }, architecture: 'amd64' });
    const arm = await buildTestImage(layout, { files: { arch: 'arm64' }, architecture: 'arm64' });
    const index = await layout.writeJsonBlob(
      {
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { ...amd.manifestDescriptor, platform: { os: 'linux', architecture: 'amd64' } },
          { ...arm.manifestDescriptor, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      },
      MediaType.ociIndex,
    );
    await layout.addManifest(index, 'multi');
    const target = `${registry.host}/hook/multi:1`;
    expect((await pushLayoutImage(layout, 'multi', target, { client })).digest).toBe(index.digest);
    const dest = await OciLayout.create(join(work, 'multi-dest'));
    const pulled = await pullImageToLayout(target, { os: 'linux', architecture: 'arm64' }, dest, { client });
    expect(pulled.manifestDescriptor.digest).toBe(arm.manifestDescriptor.digest);
    expect(pulled.config.architecture).toBe('arm64');
    await expect(pullImageToLayout(target, { os: 'linux', architecture: 's390x' }, dest, { client })).rejects.toThrow(
      /has no image for linux\/s390x \(it has: linux\/amd64, linux\/arm64\)/,
    );
  });

  it('pushes and pulls an ORAS-style artifact: a tar of .deb files with a custom artifactType', async () => {
    const files = join(work, 'artifact-in');
    const tar = await tarOf({ 'pool/a_1.0_amd64.deb': Buffer.alloc(2048, 7), 'pool/b_2.0_amd64.deb': 'not really a deb' });
    await rm(files, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(files, { recursive: true }));
    await writeFile(join(files, 'debs.tar'), tar);
    await writeFile(join(files, 'README'), 'what is in here\n');
    const ref = `${registry.host}/hook/debs:trixie`;
    const artifactType = 'application/vnd.hook.debs.v1';
    const pushed = await pushArtifact(ref, [{ path: join(files, 'debs.tar'), mediaType: 'application/vnd.hook.debs.tar' }, join(files, 'README')], artifactType, { client });

    const out = join(work, 'artifact-out');
    const pulled = await pullArtifact(ref, out, { client });
    expect(pulled.descriptor.digest).toBe(pushed.digest);
    expect(pulled.artifactType).toBe(artifactType);
    expect(pulled.manifest.config).toMatchObject({ mediaType: MediaType.ociEmpty, size: 2 });
    expect(pulled.manifest.layers.map((l) => l.mediaType)).toEqual(['application/vnd.hook.debs.tar', 'application/octet-stream']);
    expect(pulled.files).toEqual([join(out, 'debs.tar'), join(out, 'README')]);
    expect(await readFile(join(out, 'debs.tar'))).toEqual(tar);
    expect(await readFile(join(out, 'README'), 'utf8')).toBe('what is in here\n');
    expect((await readdir(out)).sort()).toEqual(['README', 'debs.tar']);
  });

  it('lists all tags (Debian distribution 2.8 ignores the page size; paging is tested on the small server below)', async () => {
    const layout = await OciLayout.create(join(work, 'tags'));
    const image = await buildTestImage(layout, { files: { t: 'tags' } });
    await layout.addManifest(image.manifestDescriptor, 'img');
    const names = ['a1', 'b2', 'c3', 'd4', 'e5'];
    for (const tag of names) await pushLayoutImage(layout, 'img', `${registry.host}/hook/tags:${tag}`, { client });
    expect((await listTags(`${registry.host}/hook/tags`, { client, pageSize: 2 })).sort()).toEqual(names);
    await expect(listTags(`${registry.host}/hook/none`, { client })).rejects.toThrow(`repository ${registry.host}/hook/none not found`);
  });

  it('mounts a blob from another repository instead of uploading it', async () => {
    const data = Buffer.from('shared layer bytes');
    const from = parseImageReference(`${registry.host}/hook/mount-src:1`);
    const to = parseImageReference(`${registry.host}/hook/mount-dst:1`);
    expect(await client.pushBlob(from, bufferSource(data))).toBe('uploaded');
    expect(await client.blobExists(to, bufferSource(data).digest)).toBe(false);
    expect(await client.pushBlob(to, bufferSource(data), { mountFrom: 'hook/mount-src' })).toBe('mounted');
    expect(await client.blobExists(to, bufferSource(data).digest)).toBe(true);
    // a blob the source repository does not have is uploaded normally
    const other = bufferSource(Buffer.from('only here'));
    expect(await client.mountBlob(to, other.digest, 'hook/mount-src')).toBe(false);
    expect(await client.pushBlob(to, other, { mountFrom: 'hook/mount-src' })).toBe('uploaded');
  });

  it('says clearly when a tag or manifest does not exist', async () => {
    await expect(client.getManifest(parseImageReference(`${registry.host}/hook/tiny:nope`))).rejects.toThrow(
      new UserError(`tag nope not found in ${registry.host}/hook/tiny`),
    );
    const digest = `sha256:${'0'.repeat(64)}`;
    await expect(pullImageToLayout(`${registry.host}/hook/tiny@${digest}`, undefined, await OciLayout.create(join(work, 'x')), { client })).rejects.toThrow(
      `manifest ${digest} not found in ${registry.host}/hook/tiny`,
    );
  });

  it('detects a corrupted blob in the registry storage and keeps nothing of it', async () => {
    const layout = await OciLayout.create(join(work, 'corrupt-src'));
    const image = await buildTestImage(layout, { files: { 'data.bin': Buffer.alloc(4096, 9) } });
    await layout.addManifest(image.manifestDescriptor, 'c');
    const target = `${registry.host}/hook/corrupt:1`;
    await pushLayoutImage(layout, 'c', target, { client });
    const layer = image.manifest.layers[0]!;
    const hex = layer.digest.slice('sha256:'.length);
    const file = join(registry.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const original = await readFile(file);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 30] ^= 0xff;
    await writeFile(file, tampered);

    await expect(collect(await client.fetchBlob(parseImageReference(target), layer.digest, layer.size))).rejects.toThrow(DigestMismatchError);
    const dest = await OciLayout.create(join(work, 'corrupt-dest'));
    await expect(pullImageToLayout(target, undefined, dest, { client })).rejects.toThrow(/digest mismatch for blob from .*hook\/corrupt: expected sha256:/);
    expect(await dest.hasBlob(layer.digest)).toBe(false);
    expect((await readdir(join(dest.dir, 'blobs', 'sha256'))).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    expect(await dest.refNames()).toEqual([]);
  });

  it('names the registry when it cannot be reached', async () => {
    const port = await freeLoopbackPort();
    const ref = parseImageReference(`127.0.0.1:${port}/hook/x:1`);
    await expect(client.getManifest(ref)).rejects.toThrow(new RegExp(`^cannot reach registry 127\\.0\\.0\\.1:${port} \\(http://127\\.0\\.0\\.1:${port}\\): ECONNREFUSED`));
  });
});

describe('registry client (integration: real docker-registry with htpasswd auth)', () => {
  let registry: TestRegistry;
  let work: string;
  beforeAll(async () => {
    registry = await startRegistry({ auth: { username: 'hook', password: 'pa55word' } });
    work = await mkdtemp(join(tmpdir(), 'oci-auth-'));
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pushes and pulls with credentials from HOOK_REGISTRY_USERNAME/PASSWORD', async () => {
    const env = { HOOK_REGISTRY: registry.host, HOOK_REGISTRY_USERNAME: 'hook', HOOK_REGISTRY_PASSWORD: 'pa55word' };
    const client = new RegistryClient({ ...FAST, env });
    const layout = await OciLayout.create(join(work, 'a'));
    const image = await buildTestImage(layout, { files: { secret: 'private' } });
    await layout.addManifest(image.manifestDescriptor, 'p');
    await pushLayoutImage(layout, 'p', `${registry.host}/private/app:1`, { client });
    const dest = await OciLayout.create(join(work, 'b'));
    const pulled = await pullImageToLayout(`${registry.host}/private/app:1`, undefined, dest, { client });
    expect(pulled.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    expect(await listTags(`${registry.host}/private/app`, { client })).toEqual(['1']);
  });

  it('uses ~/.docker/config.json auths (base64 auth and username/password forms)', async () => {
    const configDir = join(work, 'docker');
    await import('node:fs/promises').then((fs) => fs.mkdir(configDir, { recursive: true }));
    const ref = parseImageReference(`${registry.host}/private/app:1`);
    await writeFile(join(configDir, 'config.json'), JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: Buffer.from('hook:pa55word').toString('base64') } } }));
    expect((await new RegistryClient({ ...FAST, env: { DOCKER_CONFIG: configDir } }).getManifest(ref)).json).toHaveProperty('layers');
    await writeFile(join(configDir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { username: 'hook', password: 'pa55word' } } }));
    expect((await new RegistryClient({ ...FAST, env: { DOCKER_CONFIG: configDir } }).getManifest(ref)).json).toHaveProperty('layers');
  });

  it('refuses wrong credentials with one line naming the registry and the fix', async () => {
    const client = new RegistryClient({ ...FAST, env: { HOOK_REGISTRY: registry.host, HOOK_REGISTRY_USERNAME: 'hook', HOOK_REGISTRY_PASSWORD: 'wrong' } });
    const error = await client.getManifest(parseImageReference(`${registry.host}/private/app:1`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      `registry ${registry.host} rejected the credentials of user hook (from HOOK_REGISTRY_USERNAME/HOOK_REGISTRY_PASSWORD) for private/app; run 'docker login ${registry.host}' or set HOOK_REGISTRY=${registry.host} HOOK_REGISTRY_USERNAME and HOOK_REGISTRY_PASSWORD to valid ones`,
    );
  });

  it('asks for credentials when there are none, and never sends ones meant for another registry', async () => {
    const other = { HOOK_REGISTRY: 'other.example.com', HOOK_REGISTRY_USERNAME: 'hook', HOOK_REGISTRY_PASSWORD: 'pa55word' };
    for (const env of [{}, other]) {
      const client = new RegistryClient({ ...FAST, env });
      await expect(client.getManifest(parseImageReference(`${registry.host}/private/app:1`))).rejects.toThrow(
        `registry ${registry.host} requires credentials for private/app; run 'docker login ${registry.host}'`,
      );
    }
  });
});

describe('registry client against a small token-auth server on 127.0.0.1', () => {
  const { createServer } = require('node:http') as typeof import('node:http');
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: {}, layers: [] }));
  const goodBlob = Buffer.from('the real blob');
  const blobDigest = bufferSource(goodBlob).digest;
  let server: import('node:http').Server;
  let host: string;
  const tokenRequests: string[] = [];
  let flaky = 0;
  const pagedTags = ['v1', 'v2', 'v3', 'v4', 'v5'];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, `http://${req.headers.host}`);
      if (url.pathname === '/token') {
        tokenRequests.push(url.search);
        if (req.headers.authorization !== `Basic ${Buffer.from('tok:user').toString('base64')}`) {
          res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `T(${url.searchParams.getAll('scope').join('|')})`, expires_in: 300 }));
        return;
      }
      if (url.pathname === '/v2/paged/tags/list') {
        // Paging as the distribution spec describes it: n, last, and a relative Link to the next page.
        const n = Number(url.searchParams.get('n') ?? pagedTags.length);
        const last = url.searchParams.get('last');
        const start = last ? pagedTags.indexOf(last) + 1 : 0;
        const page = pagedTags.slice(start, start + n);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (start + n < pagedTags.length) headers.link = `</v2/paged/tags/list?last=${page[page.length - 1]}&n=${n}>; rel="next"`;
        res.writeHead(200, headers).end(JSON.stringify({ name: 'paged', tags: page }));
        return;
      }
      if (url.pathname === '/v2/flaky/manifests/1' && flaky++ < 2) {
        res.writeHead(flaky === 1 ? 503 : 429).end();
        return;
      }
      const repo = url.pathname.split('/')[2];
      if (req.headers.authorization !== `Bearer T(repository:${repo}:pull)`) {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry",scope="repository:${repo}:pull"` }).end();
        return;
      }
      if (url.pathname.includes('/manifests/')) {
        res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(manifest);
      } else if (url.pathname.endsWith(`/blobs/${blobDigest}`)) {
        res.writeHead(200).end(url.pathname.includes('bad') ? Buffer.from('the fake blob') : goodBlob);
      } else {
        res.writeHead(404).end();
      }
    });
    const port = await freeLoopbackPort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    host = `127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const creds = () => ({ [host]: { username: 'tok', password: 'user' } });

  it('answers the Bearer challenge with a token for the scope, and reuses it', async () => {
    const client = new RegistryClient({ ...FAST, env: {}, credentials: creds() });
    tokenRequests.length = 0;
    const fetched = await client.getManifest(parseImageReference(`${host}/app:1`));
    expect(fetched.body).toEqual(manifest);
    expect(await collect(await client.fetchBlob(parseImageReference(`${host}/app:1`), blobDigest))).toEqual(goodBlob);
    expect(tokenRequests).toEqual(['?service=test-registry&scope=repository%3Aapp%3Apull']);
  });

  it('fails clearly when the token service refuses the credentials', async () => {
    const client = new RegistryClient({ ...FAST, env: {}, credentials: { [host]: { username: 'tok', password: 'nope' } } });
    await expect(client.getManifest(parseImageReference(`${host}/app:1`))).rejects.toThrow(`registry ${host} rejected the credentials of user tok (from the client options)`);
  });

  it('detects a blob whose bytes do not match its digest', async () => {
    const client = new RegistryClient({ ...FAST, env: {}, credentials: creds() });
    await expect(collect(await client.fetchBlob(parseImageReference(`${host}/bad:1`), blobDigest))).rejects.toThrow(
      `digest mismatch for blob from ${host}/bad: expected ${blobDigest}`,
    );
  });

  it('lists tags across pages (5 tags, page size 2: three requests following Link)', async () => {
    const client = new RegistryClient({ ...FAST, env: {} });
    const send = jest.spyOn(client, 'send');
    expect(await listTags(`${host}/paged`, { client, pageSize: 2 })).toEqual(pagedTags);
    expect(send.mock.calls.map(([spec]) => spec.url)).toEqual([
      '/v2/paged/tags/list?n=2',
      '/v2/paged/tags/list?last=v2&n=2',
      '/v2/paged/tags/list?last=v4&n=2',
    ]);
  });

  it('retries 503 and 429 with backoff, within a bounded number of attempts', async () => {
    flaky = 0;
    const patient = new RegistryClient({ attempts: 4, retryDelayMs: 10, env: {}, credentials: creds() });
    expect((await patient.getManifest(parseImageReference(`${host}/flaky:1`))).body).toEqual(manifest);
    flaky = 0;
    const impatient = new RegistryClient({ attempts: 2, retryDelayMs: 10, env: {}, credentials: creds() });
    await expect(impatient.getManifest(parseImageReference(`${host}/flaky:1`))).rejects.toThrow('fetching manifest 1 of ' + `${host}/flaky failed: HTTP 429`);
  });

  it('checks a manifest fetched by digest against that digest', async () => {
    const client = new RegistryClient({ ...FAST, env: {}, credentials: creds() });
    const wrong = `sha256:${'1'.repeat(64)}`;
    const ref = parseNormalizedNamed(`${host}/app@${wrong}`);
    await expect(client.getManifest(ref)).rejects.toThrow(`digest mismatch for manifest of ${host}/app: expected ${wrong}, got ${bufferSource(manifest).digest}`);
    expect((await client.getManifest(ref, bufferSource(manifest).digest)).body).toEqual(manifest);
  });
});
