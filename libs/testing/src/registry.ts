/**
 * A real OCI registry for tests: Debian's `docker-registry` (distribution) on a free loopback
 * port, with its own temp storage, optionally behind htpasswd (Basic) auth.
 * Debian packages: docker-registry, apache2-utils (htpasswd).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand, run, spawnFilter } from '@hook/process';
import { stringify } from 'yaml';

export interface RegistryOptions {
  auth?: { username: string; password: string };
  /** How long to wait for `/v2/` to answer; default REGISTRY_START_TIMEOUT_MS. */
  startTimeoutMs?: number;
  /** The registry is killed after this long even if nobody stops it; default 15 min. */
  maxLifetimeMs?: number;
}

/**
 * How long startRegistry waits for the registry by default. A busy machine can need several
 * seconds: give the beforeAll that starts it a longer timeout (e.g. 60 s), so startRegistry
 * always finishes (and cleans up) before Jest gives up on the hook.
 */
export const REGISTRY_START_TIMEOUT_MS = 20_000;

export interface TestRegistry {
  /** `127.0.0.1:PORT`, to use in image references. */
  host: string;
  /** The registry's storage root, e.g. to corrupt a blob on purpose. */
  storageDir: string;
  /** Stops the registry and deletes its storage. Safe to call twice. */
  stop(): Promise<void>;
}

const INSTALL_HINT = 'apt-get install docker-registry apache2-utils';

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  if (!(await hasCommand('docker-registry'))) {
    throw new Error(`docker-registry is not installed; run: ${INSTALL_HINT}`);
  }
  if (options.auth && !(await hasCommand('htpasswd'))) {
    throw new Error(`htpasswd is not installed; run: ${INSTALL_HINT}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'hook-registry-'));
  try {
    const config: Record<string, unknown> = {
      version: 0.1,
      log: { level: 'error', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
      http: { addr: '', secret: randomBytes(16).toString('hex') },
    };
    if (options.auth) {
      const { stdout } = await run('htpasswd', ['-Bbn', options.auth.username, options.auth.password]);
      await writeFile(join(dir, 'htpasswd'), `${stdout.trim()}\n`);
      config.auth = { htpasswd: { realm: 'hook-test-registry', path: join(dir, 'htpasswd') } };
    }
    return await onFreeLoopbackPort((port) => {
      (config.http as { addr: string }).addr = `127.0.0.1:${port}`;
      return launch(dir, config, port, options.startTimeoutMs ?? REGISTRY_START_TIMEOUT_MS, options.maxLifetimeMs ?? 15 * 60_000);
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(dir: string, config: Record<string, unknown>, port: number, timeoutMs: number, lifetimeMs: number): Promise<TestRegistry> {
  const configPath = join(dir, 'config.yml');
  const logPath = join(dir, 'registry.log');
  await writeFile(configPath, stringify(config));
  // The shell keeps the registry alive while our end of its stdin is open: closing stdin (stop,
  // or this process dying) makes it terminate the registry, with SIGKILL after 5 s. `timeout`
  // bounds its life in case a test forgets to stop it.
  const script = [
    'timeout -k 5 "$3" docker-registry serve "$1" >"$2" 2>&1 </dev/null & pid=$!',
    'cat >/dev/null',
    'kill $pid 2>/dev/null',
    '( sleep 5; kill -9 $pid ) >/dev/null 2>&1 </dev/null & killer=$!',
    'wait $pid',
    'kill $killer 2>/dev/null',
    'exit 0',
  ].join('\n');
  const handle = await spawnFilter('sh', ['-c', script, 'registry', configPath, logPath, `${Math.ceil(lifetimeMs / 1000)}s`]);
  handle.stdout.resume();
  let exited = false;
  const finished = handle.done.then(
    () => {
      exited = true;
    },
    () => {
      exited = true;
    },
  );
  const host = `127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    handle.stdin.end();
    await finished;
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await probe(`http://${host}/v2/`);
    if (status === 200 || status === 401) return { host, storageDir: join(dir, 'data'), stop };
    const log = await readFile(logPath, 'utf8').catch(() => '');
    if (exited || /address already in use|fatal|panic/i.test(log)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const log = await readFile(logPath, 'utf8').catch(() => '');
  handle.stdin.end();
  await finished;
  throw new Error(`docker-registry did not answer on ${host} within ${timeoutMs} ms: ${log.trim().split('\n').slice(-3).join(' | ') || 'no output'}`);
}

async function probe(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

/**
 * Starts a server on a free loopback port. A port found free can be taken before the server binds
 * it, so a failed start is tried again on another port (three tries; the last error is thrown).
 */
export async function onFreeLoopbackPort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      return await start(await freeLoopbackPort());
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
