/**
 * The cache server (Debian's nginx, cache-server/) on loopback: the protocol rules with plain
 * HTTP requests, then the real Nx client against it in small scratch workspaces.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { makeTempDir, run } from '@hook/process';
import { CACHE_SERVER_SCRIPT, startCacheServer, type CacheServer } from './cache-server';
import { nxEntry } from './workspace-facts';

const root = resolve(__dirname, '../../..');
jest.setTimeout(120_000);

let server: CacheServer;
let scratch: string;
beforeAll(async () => {
  server = await startCacheServer();
  scratch = await makeTempDir('remote-cache-test');
}, 60_000);
afterAll(async () => {
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const entryUrl = (hash: string) => `${server.url}/v1/cache/${hash}`;
const put = (hash: string, body: string, token?: string) =>
  fetch(entryUrl(hash), { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
const get = (hash: string, token?: string) => fetch(entryUrl(hash), { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('the protocol', () => {
  it('stores with the read-write token and serves the entry to both tokens', async () => {
    expect((await put('1001', 'first', server.readWriteToken)).status).toBeLessThan(300);
    for (const token of [server.readWriteToken, server.readOnlyToken]) {
      const response = await get('1001', token);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('first');
    }
  });

  it('never overwrites an existing record (409) and keeps the first content', async () => {
    await put('1002', 'original', server.readWriteToken);
    const second = await put('1002', 'poisoned', server.readWriteToken);
    expect(second.status).toBe(409);
    expect(await second.text()).toContain('Cannot override an existing record');
    expect(await (await get('1002', server.readOnlyToken)).text()).toBe('original');
  });

  it('answers 403 to a PUT with the read-only token and stores nothing', async () => {
    expect((await put('1003', 'x', server.readOnlyToken)).status).toBe(403);
    expect((await get('1003', server.readWriteToken)).status).toBe(404);
  });

  it('answers 401 to an unknown or missing token, for GET and PUT', async () => {
    await put('1004', 'secret', server.readWriteToken);
    expect((await get('1004', 'not-a-token')).status).toBe(401);
    expect((await get('1004')).status).toBe(401);
    expect((await put('1005', 'x', 'not-a-token')).status).toBe(401);
    expect((await get('1005', server.readWriteToken)).status).toBe(404);
  });

  it('answers 404 for a missing entry and for names that are not hashes', async () => {
    expect((await get('99999', server.readOnlyToken)).status).toBe(404);
    expect((await get('..%2F..%2Fconf%2Fhook-cache-tokens.map', server.readOnlyToken)).status).toBe(404);
  });

  it('does not keep an upload that stops before its Content-Length', async () => {
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    await new Promise<void>((done, fail) => socket.once('connect', done).once('error', fail));
    socket.write(`PUT /v1/cache/1006 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.readWriteToken}\r\nContent-Length: 100000\r\n\r\n`);
    socket.write(Buffer.alloc(50_000, 1));
    await new Promise((done) => setTimeout(done, 300));
    socket.destroy();
    await new Promise((done) => setTimeout(done, 300));
    expect((await get('1006', server.readWriteToken)).status).toBe(404);
    expect(await readdir(server.entriesDir)).not.toContain('1006');
  });
});

/** A one-project Nx workspace whose cached target writes out/result.txt from its input file. */
async function scratchWorkspace(name: string, input: string): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(join(dir, 'app'), { recursive: true });
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
  await writeFile(join(dir, 'nx.json'), JSON.stringify({ neverConnectToCloud: true, analytics: false }));
  await writeFile(join(dir, 'app/input.txt'), input);
  await writeFile(
    join(dir, 'app/project.json'),
    JSON.stringify({
      name: 'app',
      targets: {
        make: {
          command: 'mkdir -p out && { cat app/input.txt; head -c 3000000 /dev/urandom | base64; } > out/result.txt && echo ran-the-command',
          options: { cwd: '{workspaceRoot}' },
          cache: true,
          inputs: ['{projectRoot}/input.txt'],
          outputs: ['{workspaceRoot}/out'],
        },
      },
    }),
  );
  return dir;
}

async function nxMake(dir: string, token: string) {
  return run('node', [nxEntry(root), 'run', 'app:make', '--outputStyle=static'], {
    cwd: dir,
    env: { ...server.nxEnv(token), NX_DAEMON: 'false', NX_TUI: 'false' },
    allowFailure: true,
    timeoutMs: 90_000,
  });
}

const hashesOnServer = async () => (existsSync(server.entriesDir) ? (await readdir(server.entriesDir)).filter((f) => !/^100\d$/.test(f)) : []);

describe('Nx against the server', () => {
  let produced: string;

  it('stores with the read-write token; a fresh workspace with the read-only token restores byte-identical output', async () => {
    const first = await scratchWorkspace('first', 'same input\n');
    const ran = await nxMake(first, server.readWriteToken);
    expect(ran.exitCode).toBe(0);
    expect(ran.stdout).toContain('ran-the-command');
    expect(await hashesOnServer()).toHaveLength(1);
    produced = await readFile(join(first, 'out/result.txt'), 'utf8');

    const second = await scratchWorkspace('second', 'same input\n');
    const restored = await nxMake(second, server.readOnlyToken);
    expect(restored.exitCode).toBe(0);
    expect(restored.stdout).toContain('[remote cache]');
    // Nx replays the task's terminal output; the random part of the file shows it did not run.
    expect(await readFile(join(second, 'out/result.txt'), 'utf8')).toBe(produced);
  });

  it('with the read-only token a new result is built but not stored', async () => {
    const other = await scratchWorkspace('read-only', 'other input\n');
    const ran = await nxMake(other, server.readOnlyToken);
    expect(ran.exitCode).toBe(0);
    expect(ran.stdout).toContain('ran-the-command');
    expect(await hashesOnServer()).toHaveLength(1);
  });

  it('a corrupted entry fails the run and is not restored; verify removes it and the next run builds', async () => {
    const [hash] = await hashesOnServer();
    const entry = join(server.entriesDir, hash);
    const bytes = await readFile(entry);
    // Flip bytes in the middle of the gzip stream: same size, wrong content.
    for (let i = bytes.length >> 1; i < (bytes.length >> 1) + 64; i++) bytes[i] ^= 0xff;
    await writeFile(entry, bytes);

    const victim = await scratchWorkspace('victim', 'same input\n');
    const failed = await nxMake(victim, server.readOnlyToken);
    expect({ exitCode: failed.exitCode, output: failed.stdout + failed.stderr }).toEqual({
      exitCode: 1,
      output: expect.stringMatching(/Failed to (unpack|read) entry/),
    });
    expect(existsSync(join(victim, 'out/result.txt'))).toBe(false);

    const verify = await run('bash', [CACHE_SERVER_SCRIPT, 'verify', join(server.entriesDir, '../../..')]);
    expect(verify.stdout).toContain(`removing broken entry ${hash}`);
    expect(await hashesOnServer()).toEqual([]);

    const rebuilt = await nxMake(victim, server.readWriteToken);
    expect(rebuilt.exitCode).toBe(0);
    expect(rebuilt.stdout).toContain('ran-the-command');
    expect(await readFile(join(victim, 'out/result.txt'), 'utf8')).not.toBe(produced);
  });
});
