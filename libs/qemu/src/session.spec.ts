/**
 * The serial socket's connection: QEMU binds its socket (the file appears) a moment before it
 * listens; a boot test on a loaded machine once connected in between and failed with
 * ECONNREFUSED. A regular file at the path is refused the same way (connect(2) on a non-socket).
 */
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectWhenListening } from './session';

let dir: string;
let server: Server | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hook-qemu-socket-'));
});

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('connectWhenListening', () => {
  it('keeps trying while the path refuses connections, and connects once a server listens there', async () => {
    const path = join(dir, 'serial.sock');
    await writeFile(path, '');
    const listening = new Promise<void>((resolve) => {
      setTimeout(async () => {
        await unlink(path);
        server = createServer((socket) => socket.end('hello'));
        server.listen(path, resolve);
      }, 300);
    });
    const socket = await connectWhenListening(path, () => false);
    await listening;
    const text = await new Promise<string>((resolve) => {
      let data = '';
      socket!.on('data', (chunk) => (data += chunk));
      socket!.on('end', () => resolve(data));
    });
    expect(text).toBe('hello');
  });

  it('gives up when told to, without a socket', async () => {
    const path = join(dir, 'serial.sock');
    await writeFile(path, '');
    const until = Date.now() + 300;
    expect(await connectWhenListening(path, () => Date.now() > until)).toBeUndefined();
  });
});
