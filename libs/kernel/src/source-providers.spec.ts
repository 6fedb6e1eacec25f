/**
 * kernel.org-style providers against a local HTTP server (127.0.0.1) with a test signing key
 * made here (gpg in a temp GNUPGHOME): verified download, corrupted tarball, bad signature,
 * unreachable kernel.org without fallback, a local tarball. Nothing reaches the internet.
 * Debian packages: gpg, gpgv, xz-utils.
 */
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@hook/process';
import { sha256File } from './files';
import { prepareSourceTree } from './source';
import { buildKernelTarget } from './target';
import { freeLoopbackPort } from '@hook/testing';

jest.setTimeout(60_000);

let dir: string;
let server: Server;
let base: string;
let files: Map<string, Buffer>;
let keys: string;
let otherKeys: string;

async function gpg(home: string, args: string[], input?: string) {
  return run('gpg', ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { input });
}

async function makeKey(name: string): Promise<{ home: string; armored: string }> {
  const home = join(dir, `gnupg-${name}`);
  await mkdir(home, { mode: 0o700 });
  await gpg(home, ['--quick-gen-key', `${name} <${name}@test.invalid>`, 'ed25519', 'sign', 'never']);
  const armored = join(dir, `${name}.asc`);
  await writeFile(armored, (await gpg(home, ['--armor', '--export'])).stdout);
  return { home, armored };
}

/** A fake linux-6.12.117.tar.xz: enough of a tree for the provider (Makefile, setup.h). */
async function fakeTarball(): Promise<Buffer> {
  const src = join(dir, 'src', 'linux-6.12.117');
  await mkdir(join(src, 'arch/x86/include/asm'), { recursive: true });
  await writeFile(join(src, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\nEXTRAVERSION =\n');
  await writeFile(join(src, 'arch/x86/include/asm/setup.h'), '#define COMMAND_LINE_SIZE 2048\n');
  const out = join(dir, 'linux-6.12.117.tar.xz');
  await run('tar', ['-cJf', out, '-C', join(dir, 'src'), 'linux-6.12.117']);
  return readFile(out);
}

async function signedSums(home: string, text: string): Promise<Buffer> {
  const plain = join(dir, `sums-${Date.now()}.txt`);
  await writeFile(plain, text);
  await gpg(home, ['--clearsign', '--output', `${plain}.asc`, plain]);
  return readFile(`${plain}.asc`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hook-kernel-src-'));
  const signer = await makeKey('signer');
  const other = await makeKey('other');
  keys = signer.armored;
  otherKeys = other.armored;
  const tarball = await fakeTarball();
  const digest = await sha256File(join(dir, 'linux-6.12.117.tar.xz'));
  files = new Map([
    ['/good/v6.x/linux-6.12.117.tar.xz', tarball],
    ['/good/v6.x/sha256sums.asc', await signedSums(signer.home, `${digest}  linux-6.12.117.tar.xz\n`)],
    ['/corrupt/v6.x/linux-6.12.117.tar.xz', Buffer.concat([tarball.subarray(0, 100), Buffer.from('garbage')])],
    ['/corrupt/v6.x/sha256sums.asc', await signedSums(signer.home, `${digest}  linux-6.12.117.tar.xz\n`)],
    ['/badsig/v6.x/linux-6.12.117.tar.xz', tarball],
  ]);
  // A signature that no longer matches its text: sign, then tamper with a checksum line.
  const tampered = (await signedSums(signer.home, `${digest}  linux-6.12.117.tar.xz\n`)).toString().replace(digest, '0'.repeat(64));
  files.set('/badsig/v6.x/sha256sums.asc', Buffer.from(tampered));
  server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    if (req.url === '/' || req.url === '/good/' || body) res.writeHead(200);
    else res.writeHead(404);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const port = await freeLoopbackPort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

function request(cache: string, env: NodeJS.ProcessEnv) {
  return { workspaceRoot: dir, env: { CACHE_DIR: cache, KERNEL_ORG_KEYRING: keys, ...env }, major: 6, minor: 12, point: 117 };
}

describe('kernel.org-style source providers', () => {
  it('downloads, verifies (signature + sha256) and unpacks a tarball from a mirror, patched', async () => {
    const cache = join(dir, 'cache-good');
    const tree = await prepareSourceTree(request(cache, { KERNEL_SOURCE: 'mirror', KERNEL_MIRROR: `${base}/good` }));
    expect(tree).toEqual({ provider: 'mirror', version: '6.12.117', dir: join(cache, 'kernel', 'src', 'upstream-6.12.117') });
    expect(await readFile(join(tree.dir, 'arch/x86/include/asm/setup.h'), 'utf8')).toContain('COMMAND_LINE_SIZE 4096');
  });

  it('stops on a corrupted tarball and deletes it', async () => {
    const cache = join(dir, 'cache-corrupt');
    await expect(prepareSourceTree(request(cache, { KERNEL_SOURCE: 'mirror', KERNEL_MIRROR: `${base}/corrupt` }))).rejects.toThrow(
      /^linux-6\.12\.117\.tar\.xz is corrupted: sha256 .* does not match the signed/,
    );
    expect(await readdir(join(cache, 'kernel', 'downloads', 'upstream'))).toEqual([]);
    expect(await readdir(join(cache, 'kernel')).catch(() => [])).not.toContain('src');
  });

  it('stops on a tampered signature, and on a signature by a key that is not committed', async () => {
    const cache = join(dir, 'cache-badsig');
    await expect(prepareSourceTree(request(cache, { KERNEL_SOURCE: 'mirror', KERNEL_MIRROR: `${base}/badsig` }))).rejects.toThrow(
      /PGP signature check of sha256sums-v6\.x\.asc failed \(BAD signature/,
    );
    await expect(
      prepareSourceTree(request(join(dir, 'cache-otherkey'), { KERNEL_SOURCE: 'mirror', KERNEL_MIRROR: `${base}/good`, KERNEL_ORG_KEYRING: otherKeys })),
    ).rejects.toThrow(/PGP signature check .* failed .*not signed by a key in/);
  });

  it('refuses unreachable kernel.org when KERNEL_SOURCE=kernel.org allows no fallback, leaving dist/ empty', async () => {
    const root = await mkdtemp(join(dir, 'ws-'));
    await mkdir(join(root, 'kernel', 'k'), { recursive: true });
    await mkdir(join(root, 'kernel', 'configs'), { recursive: true });
    await writeFile(join(root, 'kernel', 'configs', 'tiny-6.12.y-x86_64'), 'CONFIG_64BIT=y\n');
    await writeFile(join(root, 'kernel', 'k', 'kernel.yaml'), 'METHOD: default\nARCH: x86_64\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 12\nKCONFIG: tiny\n');
    const closed = `http://127.0.0.1:${await freeLoopbackPort()}`;
    const env = { CACHE_DIR: join(dir, 'cache-unreachable'), KERNEL_SOURCE: 'kernel.org', KERNEL_ORG_BASE_URL: closed, KERNEL_POINT_RELEASE: '117', KERNEL_ORG_TIMEOUT_MS: '1000' };
    await expect(buildKernelTarget({ workspaceRoot: root, kernelId: 'k', env })).rejects.toThrow(
      /^kernel\.org \(http:\/\/127\.0\.0\.1:\d+\) is not reachable and KERNEL_SOURCE=kernel\.org allows no fallback/,
    );
    await expect(readdir(join(root, 'dist'))).rejects.toThrow();
  });

  it('uses a local tarball, checking KERNEL_TARBALL_SHA256 when given', async () => {
    const tarball = join(dir, 'linux-6.12.117.tar.xz');
    const cache = join(dir, 'cache-tarball');
    await expect(
      prepareSourceTree(request(cache, { KERNEL_TARBALL: tarball, KERNEL_TARBALL_SHA256: '0'.repeat(64) })),
    ).rejects.toThrow(/KERNEL_TARBALL linux-6\.12\.117\.tar\.xz is corrupted/);
    const tree = await prepareSourceTree(request(cache, { KERNEL_TARBALL: tarball, KERNEL_TARBALL_SHA256: await sha256File(tarball) }));
    expect(tree.provider).toBe('tarball');
    expect(await readFile(join(tree.dir, 'Makefile'), 'utf8')).toContain('SUBLEVEL = 117');
    await expect(prepareSourceTree({ ...request(cache, { KERNEL_TARBALL: tarball }), point: 118 })).rejects.toThrow(/is not linux-6\.12\.118\.tar/);
  });

  it('refuses a truncated local tarball with one line and leaves no tree', async () => {
    const truncated = join(dir, 'trunc', 'linux-6.12.117.tar.xz');
    await mkdir(join(dir, 'trunc'));
    await writeFile(truncated, (await readFile(join(dir, 'linux-6.12.117.tar.xz'))).subarray(0, 60));
    const cache = join(dir, 'cache-trunc');
    await expect(prepareSourceTree(request(cache, { KERNEL_TARBALL: truncated }))).rejects.toThrow(/is corrupted or truncated/);
    expect(await readdir(join(cache, 'kernel', 'src'))).toEqual([]);
  });
});
