/**
 * The cache server (cache-server/cache-server.sh, the server in ./server) on loopback: the
 * protocol rules with plain HTTP requests, entries that no longer match the sha256 of their
 * upload, the script's commands, then the real Nx client against it in small scratch workspaces.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { makeTempDir, processRuns, run } from '@hook/process';
import { freeLoopbackPort } from '@hook/testing';
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
const put = (hash: string, body: string | Uint8Array, token?: string) =>
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

  it('closes the connection after every answer: a kept-alive one raced with Nx reusing it for a PUT (Broken pipe)', async () => {
    for (const response of [await put('1091', 'x', server.readWriteToken), await get('1091', server.readOnlyToken), await get('1010', server.readOnlyToken)]) {
      expect([response.status, response.headers.get('connection')]).toEqual([response.status, 'close']);
    }
  });

  it("answers Nx's own client as it expects: a 30 MB entry stored in one upload (200), a second upload taken as already there (409 after its body)", async () => {
    const cacheDir = join(scratch, 'nx-client');
    const hash = '4001';
    const outputs = join(cacheDir, hash, 'outputs');
    await mkdir(outputs, { recursive: true });
    await writeFile(join(outputs, 'image.bin'), randomBytes(30 << 20));
    await writeFile(join(cacheDir, hash, 'terminalOutput'), 'built');
    await writeFile(join(cacheDir, hash, 'code'), '0');
    // Nx's client (native code, in a process of its own: it reads its settings from the real
    // environment) takes any answer but 200 to a PUT as a failure and uploads again: a 201 did
    // that, the second upload got a 409, and under load a "Broken pipe" when the answer came
    // before the end of the body; six of them failed the task.
    const client = join(scratch, 'nx-client.js');
    await writeFile(
      client,
      `const { HttpRemoteCache } = require(${JSON.stringify(require.resolve('nx/src/native', { paths: [root] }))});
(async () => {
  const cache = new HttpRemoteCache();
  for (let i = 0; i < 2; i++) process.stdout.write(String(await cache.store(${JSON.stringify(hash)}, ${JSON.stringify(cacheDir)}, 'built', 0)) + '\\n');
})().catch((error) => { console.log(String(error)); process.exit(1); });
`,
    );
    const stored = await run('node', [client], { env: { ...process.env, ...server.nxEnv() }, allowFailure: true });
    expect(stored.stdout.trim().split('\n')).toEqual(['true', 'false']);
    expect((await readFile(server.logFile, 'utf8')).split('\n').filter((line) => line.includes(hash))).toEqual([]);
    expect((await readdir(server.entriesDir)).filter((name) => name.startsWith(hash))).toEqual([hash, `${hash}.sha256`]);
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
    const unknown = await get('1004', 'not-a-token');
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toBe('Bearer realm="nx-cache"');
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
    expect((await readdir(server.entriesDir)).filter((name) => name.startsWith('1006'))).toEqual([]);
    expect(await readFile(server.logFile, 'utf8')).toContain('cache-server: the upload of 1006 stopped before its end: nothing stored');
  });

  it('answers 405 to other methods and 413 to an upload over 2 GB', async () => {
    const deleted = await fetch(entryUrl('1001'), { method: 'DELETE', headers: { authorization: `Bearer ${server.readWriteToken}` } });
    expect(deleted.status).toBe(405);
    expect((await get('1001', server.readOnlyToken)).status).toBe(200);
    const head = await rawRequest(`PUT /v1/cache/1007 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.readWriteToken}\r\nContent-Length: ${3 * 1024 ** 3}\r\n\r\n`);
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    expect((await get('1007', server.readWriteToken)).status).toBe(404);
  });

  it('of two uploads of the same new hash at once, the first to finish is stored and the other gets 409', async () => {
    const first = await startUpload('1009', 'first upload');
    const second = await startUpload('1009', 'second one!!');
    expect(await first.finish()).toMatch(/^HTTP\/1\.1 200 /);
    expect(await second.finish()).toMatch(/^HTTP\/1\.1 409 [^]*Cannot override an existing record/);
    expect(await (await get('1009', server.readOnlyToken)).text()).toBe('first upload');
  });

  it('keeps the sha256 of each upload beside the entry, in sha256sum format', async () => {
    const body = 'some entry bytes';
    expect((await put('1008', body, server.readWriteToken)).status).toBe(200);
    const sha256 = createHash('sha256').update(body).digest('hex');
    expect(await readFile(join(server.entriesDir, '1008.sha256'), 'utf8')).toBe(`${sha256}  1008\n`);
  });
});

/** A PUT whose headers and first half are sent now; finish() sends the rest and returns the answer. */
async function startUpload(hash: string, body: string): Promise<{ finish(): Promise<string> }> {
  const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk.toString()));
  const closed = new Promise<void>((done) => socket.once('close', () => done()));
  await new Promise<void>((done, fail) => socket.once('connect', done).once('error', fail));
  const half = body.length >> 1;
  socket.write(`PUT /v1/cache/${hash} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${server.readWriteToken}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`);
  await new Promise((done) => setTimeout(done, 100));
  return {
    async finish() {
      socket.write(body.slice(half));
      await closed;
      return answer;
    },
  };
}

/** Sends raw bytes and returns what the server answers until it closes the connection. */
async function rawRequest(bytes: string): Promise<string> {
  const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk.toString()));
  await new Promise<void>((done, fail) => socket.once('connect', done).once('error', fail));
  socket.write(bytes);
  await new Promise<void>((done) => {
    socket.once('close', () => done());
    setTimeout(() => socket.destroy(), 5_000);
  });
  return answer;
}

/** Log lines that name an entry (lines about other entries are left out). */
async function logLinesAbout(hash: string): Promise<string[]> {
  const log = await readFile(server.logFile, 'utf8');
  return log.split('\n').filter((line) => line.includes(`entry ${hash} `));
}

const storedFiles = async (hash: string) => (await readdir(server.entriesDir)).filter((name) => name === hash || name === `${hash}.sha256`);

/** A gzip'ed tarball like the ones Nx uploads: an output file and the terminal output. */
async function sampleEntry(): Promise<Buffer> {
  const dir = join(scratch, 'sample-entry');
  await mkdir(join(dir, 'out'), { recursive: true });
  let text = '';
  for (let i = 0; text.length < 200_000; i++) text += createHash('sha256').update(String(i)).digest('base64');
  await writeFile(join(dir, 'out/result.txt'), text);
  await writeFile(join(dir, 'terminalOutput'), 'ran-the-command\n');
  await run('tar', ['-czf', join(scratch, 'sample-entry.tar.gz'), '-C', dir, 'out', 'terminalOutput']);
  return readFile(join(scratch, 'sample-entry.tar.gz'));
}

/** The same archive with one byte of out/result.txt changed (same length), gzip'ed again: a valid entry. */
function withOneOutputByteChanged(entry: Buffer, outputContent: Buffer): Buffer {
  const tar = gunzipSync(entry);
  const at = tar.indexOf(outputContent.subarray(0, 256));
  if (at < 0) throw new Error('the output file is not in the entry');
  const position = at + 100;
  tar[position] = tar[position] === 0x41 ? 0x42 : 0x41; // both base64 letters: still plausible text
  return gzipSync(tar);
}

type Corruption = (bytes: Buffer) => Buffer;
const flipByte = (at: (length: number) => number): Corruption => (bytes) => {
  const changed = Buffer.from(bytes);
  changed[at(bytes.length)] ^= 0xff;
  return changed;
};
const flip64AtHalf: Corruption = (bytes) => {
  const changed = Buffer.from(bytes);
  for (let i = bytes.length >> 1; i < (bytes.length >> 1) + 64; i++) changed[i] ^= 0xff;
  return changed;
};

/**
 * Twenty changes of a stored entry, spread over the gzip header, the deflate stream and the
 * trailer (CRC32 and size in the last 8 bytes), most of them keeping the length: where a change
 * lands decides whether a gzip decoder notices, never whether the server does.
 */
const corruptions: [string, Corruption][] = [
  ['head: first byte (gzip magic)', flipByte(() => 0)],
  ['head: compression method', flipByte(() => 2)],
  ['head: flags', flipByte(() => 3)],
  ['head: mtime', flipByte(() => 5)],
  ['head: OS byte', flipByte(() => 9)],
  ['head: first deflate byte', flipByte(() => 10)],
  ['head: byte 100', flipByte(() => 100)],
  ['middle: at a quarter', flipByte((n) => n >> 2)],
  ['middle: at the half', flipByte((n) => n >> 1)],
  ['middle: at three quarters', flipByte((n) => (n * 3) >> 2)],
  ['middle: 64 bytes flipped', flip64AtHalf],
  ['middle: 4 KiB zeroed (a bad disk block)', (bytes) => Buffer.concat([bytes.subarray(0, 8192), Buffer.alloc(4096), bytes.subarray(12288)])],
  ['middle: two different bytes swapped', (bytes) => {
    const changed = Buffer.from(bytes);
    let j = (bytes.length >> 1) + 1;
    while (changed[j] === changed[bytes.length >> 1]) j++;
    [changed[bytes.length >> 1], changed[j]] = [changed[j], changed[bytes.length >> 1]];
    return changed;
  }],
  ['tail: first CRC32 byte (8th from the end)', flipByte((n) => n - 8)],
  ['tail: last CRC32 byte', flipByte((n) => n - 5)],
  ['tail: first size byte', flipByte((n) => n - 4)],
  ['tail: last byte', flipByte((n) => n - 1)],
  ['tail: last byte cut off', (bytes) => bytes.subarray(0, bytes.length - 1)],
  ['tail: one byte appended', (bytes) => Buffer.concat([bytes, Buffer.from([0])])],
  ['a valid archive with one byte of the output file changed', (bytes) => withOneOutputByteChanged(bytes, sampleOutput)],
];
let sampleOutput: Buffer;

describe('entries that no longer match the sha256 of their upload', () => {
  let sample: Buffer;
  beforeAll(async () => {
    sample = await sampleEntry();
    sampleOutput = await readFile(join(scratch, 'sample-entry/out/result.txt'));
  });

  it.each(corruptions.map(([name, corrupt], i) => [name, corrupt, String(3000 + i)] as const))('%s: GET answers 404, the entry and its digest are gone, one log line', async (_name, corrupt, hash) => {
    expect((await put(hash, sample, server.readWriteToken)).status).toBe(200);
    const changed = corrupt(sample);
    expect(changed.equals(sample)).toBe(false);
    await writeFile(join(server.entriesDir, hash), changed);

    const response = await get(hash, server.readOnlyToken);
    expect(response.status).toBe(404);
    expect(await storedFiles(hash)).toEqual([]);
    expect(await logLinesAbout(hash)).toEqual([expect.stringMatching(new RegExp(`cache-server: entry ${hash} does not match the sha256 of its upload \\([0-9a-f]{64} != [0-9a-f]{64}\\): removed, answered as a miss$`))]);
    // The miss is final: the next GET finds nothing and logs nothing more.
    expect((await get(hash, server.readOnlyToken)).status).toBe(404);
    expect(await logLinesAbout(hash)).toHaveLength(1);
  });

  it('an entry without its digest is a miss too, and is removed', async () => {
    expect((await put('3100', sample, server.readWriteToken)).status).toBe(200);
    await rm(join(server.entriesDir, '3100.sha256'));
    expect((await get('3100', server.readOnlyToken)).status).toBe(404);
    expect(await storedFiles('3100')).toEqual([]);
    expect(await logLinesAbout('3100')).toEqual([expect.stringContaining('cache-server: entry 3100 has no sha256 of its upload: removed, answered as a miss')]);
  });

  it('an intact entry is served byte for byte', async () => {
    expect((await put('3101', sample, server.readWriteToken)).status).toBe(200);
    const response = await get('3101', server.readOnlyToken);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(sample)).toBe(true);
    expect(await logLinesAbout('3101')).toEqual([]);
  });

  it('verify removes exactly the entries that no longer match, one line each, and keeps the rest', async () => {
    for (const hash of ['3200', '3201']) expect((await put(hash, sample, server.readWriteToken)).status).toBe(200);
    await writeFile(join(server.entriesDir, '3201'), flipByte((n) => n >> 1)(sample));
    const verify = await run('bash', [CACHE_SERVER_SCRIPT, 'verify', server.dir]);
    expect(verify.stdout.split('\n').filter((line) => line.includes('3201'))).toEqual([expect.stringMatching(/^cache-server: entry 3201 does not match the sha256 of its upload \([0-9a-f]{64} != [0-9a-f]{64}\): removed$/)]);
    expect(verify.stdout).not.toContain('3200');
    expect(verify.stdout).toMatch(/cache-server: \d+ entries checked, 1 removed$/);
    expect(await storedFiles('3201')).toEqual([]);
    expect((await get('3200', server.readOnlyToken)).status).toBe(200);
  });

  it('clean DAYS removes older entries with their digests and keeps newer ones', async () => {
    for (const hash of ['3300', '3301']) expect((await put(hash, 'x', server.readWriteToken)).status).toBe(200);
    const fortyDaysAgo = new Date(Date.now() - 40 * 86_400_000);
    await utimes(join(server.entriesDir, '3300'), fortyDaysAgo, fortyDaysAgo);
    const clean = await run('bash', [CACHE_SERVER_SCRIPT, 'clean', '30', server.dir]);
    expect(clean.stdout).toBe('cache-server: removed 1 entries stored more than 30 days ago');
    expect(await storedFiles('3300')).toEqual([]);
    expect(await storedFiles('3301')).toEqual(['3301', '3301.sha256'].sort());
  });
});

describe('user mistakes at start', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('nx-cache-server-mistakes');
  });
  afterAll(async () => {
    await run('bash', [CACHE_SERVER_SCRIPT, 'stop', dir], { allowFailure: true });
    await rm(dir, { recursive: true, force: true });
  });
  const start = async (env: NodeJS.ProcessEnv) => {
    const result = await run('bash', [CACHE_SERVER_SCRIPT, 'start', dir], { env, allowFailure: true, timeoutMs: 60_000 });
    return { exitCode: result.exitCode, lines: (result.stdout + result.stderr).trim().split('\n') };
  };

  it('a port in use, equal tokens or a bad port end with one clear line and a non-zero exit', async () => {
    const port = new URL(server.url).port;
    expect(await start({ HOOK_CACHE_SERVER_PORT: port })).toEqual({ exitCode: 1, lines: [`cache-server: port ${port} on 127.0.0.1 is in use (another server?); pick another with HOOK_CACHE_SERVER_PORT`] });
    const free = String(await freeLoopbackPort());
    expect(await start({ HOOK_CACHE_SERVER_PORT: free, HOOK_CACHE_RW_TOKEN: 'same', HOOK_CACHE_RO_TOKEN: 'same' })).toEqual({
      exitCode: 1,
      lines: ['cache-server: the read-write and the read-only token must differ (one token is in both tokens/rw and tokens/ro)'],
    });
    expect(await start({ HOOK_CACHE_SERVER_PORT: '70000' })).toEqual({ exitCode: 1, lines: ["cache-server: HOOK_CACHE_SERVER_PORT must be a TCP port number, not '70000'"] });
    expect(existsSync(join(dir, 'server.pid'))).toBe(false);
  });
});

describe('stopping', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('the server stops by itself on %s', async (signal) => {
    const other = await startCacheServer();
    try {
      const pid = Number(await readFile(join(other.dir, 'server.pid'), 'utf8'));
      expect(processRuns(pid)).toBe(true);
      process.kill(pid, signal);
      for (let waited = 0; processRuns(pid) && waited < 100; waited++) await new Promise((done) => setTimeout(done, 100));
      expect(processRuns(pid)).toBe(false);
      expect(await readFile(other.logFile, 'utf8')).toMatch(new RegExp(`cache-server: ${signal}: stopping\\n.*cache-server: stopped\\n$`));
      expect(existsSync(join(other.dir, 'server.pid'))).toBe(false);
    } finally {
      await other.stop();
    }
  });

  it('cache-server.sh stop stops it; status then says it is not running', async () => {
    const other = await startCacheServer();
    try {
      expect((await run('bash', [CACHE_SERVER_SCRIPT, 'status', other.dir])).stdout).toContain(`running (pid`);
      expect((await run('bash', [CACHE_SERVER_SCRIPT, 'stop', other.dir])).stdout).toBe('cache-server: stopped');
      const status = await run('bash', [CACHE_SERVER_SCRIPT, 'status', other.dir], { allowFailure: true });
      expect(status.exitCode).toBe(1);
      expect((await fetch(`${other.url}/healthz`).catch(() => undefined))?.status).toBeUndefined();
    } finally {
      await other.stop();
    }
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

/** The entries Nx stored (its hashes are long numbers; the protocol tests use short ones). */
const hashesOnServer = async () => (existsSync(server.entriesDir) ? (await readdir(server.entriesDir)).filter((f) => /^\d{10,}$/.test(f)) : []);

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

  describe('an entry changed after its upload is never restored: Nx builds again', () => {
    let hash: string;
    let uploaded: Buffer;
    let digest: Buffer;
    beforeAll(async () => {
      [hash] = await hashesOnServer();
      uploaded = await readFile(join(server.entriesDir, hash));
      digest = await readFile(join(server.entriesDir, `${hash}.sha256`));
    });

    const changes: [string, Corruption][] = [
      ['head (gzip header)', flipByte(() => 4)],
      ['middle (64 bytes)', flip64AtHalf],
      ['tail (CRC32)', flipByte((n) => n - 6)],
      ['one byte of the output file, re-packed as a valid archive', (bytes) => withOneOutputByteChanged(bytes, Buffer.from(produced))],
    ];

    it.each(changes)('%s', async (name, change) => {
      // The stored entry as the upload left it, then changed in place.
      await writeFile(join(server.entriesDir, `${hash}.sha256`), digest);
      await writeFile(join(server.entriesDir, hash), change(uploaded));
      const linesBefore = (await logLinesAbout(hash)).length;

      const victim = await scratchWorkspace(`victim-${name.replace(/\W+/g, '-')}`, 'same input\n');
      const ran = await nxMake(victim, server.readOnlyToken);
      expect(ran.exitCode).toBe(0);
      expect(ran.stdout).not.toContain('[remote cache]');
      expect(ran.stdout).toContain('ran-the-command');
      const result = await readFile(join(victim, 'out/result.txt'), 'utf8');
      expect(result.startsWith('same input\n')).toBe(true);
      expect(result).not.toBe(produced);
      expect(result.length).toBe(produced.length);
      expect((await logLinesAbout(hash)).slice(linesBefore)).toEqual([expect.stringContaining(`cache-server: entry ${hash} does not match the sha256 of its upload`)]);
      expect(await hashesOnServer()).toEqual([]);
      expect(await storedFiles(hash)).toEqual([]);
    });

    it('the next read-write run stores a fresh entry, and a fresh workspace restores it', async () => {
      const builder = await scratchWorkspace('rebuilt', 'same input\n');
      const rebuilt = await nxMake(builder, server.readWriteToken);
      expect(rebuilt.exitCode).toBe(0);
      expect(rebuilt.stdout).toContain('ran-the-command');
      expect(await hashesOnServer()).toEqual([hash]);
      const fresh = await readFile(join(builder, 'out/result.txt'), 'utf8');

      const restorer = await scratchWorkspace('restored-again', 'same input\n');
      const restored = await nxMake(restorer, server.readOnlyToken);
      expect(restored.stdout).toContain('[remote cache]');
      expect(await readFile(join(restorer, 'out/result.txt'), 'utf8')).toBe(fresh);
    });
  });
});
