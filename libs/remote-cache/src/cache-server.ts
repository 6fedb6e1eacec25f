/**
 * The local Nx remote cache (cache-server/cache-server.sh: the server in ./server on loopback) as
 * a handle for tests and benchmarks: started on a free port with its own store, stopped by stop().
 */
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { makeTempDir, run } from '@hook/process';
import { onFreeLoopbackPort } from '@hook/testing';

export const CACHE_SERVER_SCRIPT = resolve(__dirname, '../../../cache-server/cache-server.sh');

export interface CacheServer {
  /** `http://127.0.0.1:PORT`, the value of NX_SELF_HOSTED_REMOTE_CACHE_SERVER. */
  url: string;
  readWriteToken: string;
  readOnlyToken: string;
  /** The server's DIR (store, tokens, log): what `cache-server.sh verify|clean` take. */
  dir: string;
  /** Where entries land: `<entriesDir>/<hash>`, with the sha256 of the upload in `<hash>.sha256`. */
  entriesDir: string;
  /** The server's log: one line for each entry it removed as no longer matching its upload. */
  logFile: string;
  /** The environment Nx needs to use this cache with the given token (read-write by default). */
  nxEnv(token?: string): NodeJS.ProcessEnv;
  /** Stops the server and deletes the store. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startCacheServer(): Promise<CacheServer> {
  const dir = await makeTempDir('nx-cache-server');
  try {
    return await onFreeLoopbackPort(async (port) => {
      await run('bash', [CACHE_SERVER_SCRIPT, 'start', dir], { env: { HOOK_CACHE_SERVER_PORT: String(port) }, timeoutMs: 30_000 });
      return handle(dir, `http://127.0.0.1:${port}`);
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function handle(dir: string, url: string): Promise<CacheServer> {
  const readWriteToken = (await readFile(join(dir, 'tokens/rw'), 'utf8')).trim();
  const readOnlyToken = (await readFile(join(dir, 'tokens/ro'), 'utf8')).trim();
  let stopped = false;
  return {
    url,
    readWriteToken,
    readOnlyToken,
    dir,
    entriesDir: join(dir, 'store/v1/cache'),
    logFile: join(dir, 'logs/server.log'),
    nxEnv: (token = readWriteToken) => ({
      NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url,
      NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token,
      NX_NO_CLOUD: 'true',
      // Inside an Nx task (the test command) these may be inherited; the runs here need the caches.
      NX_SKIP_NX_CACHE: 'false',
      NX_SKIP_REMOTE_CACHE: 'false',
    }),
    async stop() {
      if (stopped) return;
      stopped = true;
      await run('bash', [CACHE_SERVER_SCRIPT, 'stop', dir], { timeoutMs: 30_000, allowFailure: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
