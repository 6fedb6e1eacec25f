/**
 * `./hook serve` as an operator runs it, on loopback: Smee's iPXE script and the built flavor's
 * kernel and initramfs over HTTP, byte for byte what dist/hook holds; an address it cannot bind
 * is one line and exit 1. (The hook-cli test target builds hook-debian-amd64 first.)
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { resolveFlavor } from '@hook/inventory';
import { inWorkspace } from '@hook/layout';
import { run } from '@hook/process';

const root = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';
jest.setTimeout(120_000);

const { files } = resolveFlavor(root, FLAVOR);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A free loopback port (closed again before the server takes it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('hook serve (e2e, loopback)', () => {
  let serving: ReturnType<typeof import('execa').execa> | undefined;

  afterEach(async () => {
    serving?.kill('SIGKILL');
    await serving?.catch(() => undefined);
    serving = undefined;
  });

  it("serves Smee's script and the flavor's files byte for byte, prints the URL to chain, stops on SIGTERM", async () => {
    const port = await freePort();
    const { execa } = require('execa') as typeof import('execa');
    serving = execa(join(root, 'hook'), ['serve', FLAVOR, `LISTEN=127.0.0.1:${port}`, 'TINK_SERVER=10.0.0.5'], { cwd: root, all: true, reject: false, env: { GITHUB_ACTIONS: '' } });
    let output = '';
    serving.all!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const base = `http://127.0.0.1:${port}`;
    for (const until = Date.now() + 60_000; !output.includes(`chain ${base}/hook.ipxe`) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 200));
    expect(output).toContain(`from an iPXE prompt or script: chain ${base}/hook.ipxe`);

    const script = await (await fetch(`${base}/hook.ipxe`)).text();
    expect(script).toMatch(/^#!ipxe/);
    expect(script).toContain(`set download-url ${base}`);
    expect(script).toMatch(/grpc_authority=10\.0\.0\.5:42113/);
    expect(script).toContain('console=tty0 console=ttyS1,115200');
    for (const file of [files.vmlinuz, files.initramfs]) {
      const name = file.split('/').pop()!;
      expect(script).toContain(name);
      const served = Buffer.from(await (await fetch(`${base}/${name}`)).arrayBuffer());
      expect([name, sha256(served)]).toEqual([name, sha256(readFileSync(inWorkspace(root, file)))]);
    }
    expect((await fetch(`${base}/nothing-here`)).status).toBe(404);

    serving.kill('SIGTERM');
    const result = await serving;
    serving = undefined;
    expect(result.exitCode).toBe(0);
    expect(result.all).toContain('SIGTERM: stopped serving');
  });

  it.each([
    ['an address of no interface here', '192.0.2.1', /EADDRNOTAVAIL/],
    ['a port in use', '127.0.0.1', /EADDRINUSE/],
  ])('refuses %s with one line and exit 1', async (_name, host, code) => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const result = await run(join(root, 'hook'), ['serve', FLAVOR, `LISTEN=${host}:${port}`], { cwd: root, env: { GITHUB_ACTIONS: '' }, allowFailure: true, timeoutMs: 60_000 });
      expect(result.exitCode).toBe(1);
      const errors = result.stderr.split('\n').filter((line) => /error|cannot serve/i.test(line));
      expect(errors).toEqual([expect.stringMatching(new RegExp(`cannot serve on ${host.replace(/\./g, '\\.')}:${port} \\(${code.source}\\): give an address of this machine and a free port`))]);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
