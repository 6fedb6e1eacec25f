/**
 * The Nx remote cache server (see cache-server/README.md). Node built-ins only.
 *
 *   node -r @swc-node/register libs/remote-cache/src/server/cli.ts serve --dir DIR [--port 8377] [--host 127.0.0.1] [--pid-file FILE]
 *   node -r @swc-node/register libs/remote-cache/src/server/cli.ts verify --dir DIR
 *
 * DIR holds store/v1/cache/ (entries and their digests), tokens/rw and tokens/ro, tmp/.
 * `cache-server/cache-server.sh` runs it; a site can run `serve` under systemd.
 */
import { rm, writeFile, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { listenCacheServer } from './listen';
import { SetupError } from './setup-error';
import { EntryStore, type Log } from './store';
import { Tokens } from './tokens';
import { verifyStore } from './verify';

const USAGE = 'usage: cli.ts serve --dir DIR [--port PORT] [--host ADDRESS] [--pid-file FILE], or cli.ts verify --dir DIR';

interface Options {
  command: 'serve' | 'verify';
  dir: string;
  host: string;
  port: number;
  pidFile?: string;
}

function parseOptions(argv: string[]): Options {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new SetupError(`cache-server: ${(error as Error).message}; ${USAGE}`);
  }
  const [command, ...rest] = parsed.positionals;
  if ((command !== 'serve' && command !== 'verify') || rest.length > 0) throw new SetupError(`cache-server: ${USAGE}`);
  const { dir, host = '127.0.0.1', port = '8377' } = parsed.values;
  if (!dir) throw new SetupError(`cache-server: --dir is needed; ${USAGE}`);
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new SetupError(`cache-server: the port must be a TCP port number (1-65535), not '${port}'`);
  return { command, dir: resolve(dir), host, port: Number(port), pidFile: parsed.values['pid-file'] };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { dir: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, 'pid-file': { type: 'string' } },
  });
}

const serverLog: Log = (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

async function serve(options: Options): Promise<void> {
  let tokens = await Tokens.load(options.dir);
  const store = new EntryStore(options.dir, serverLog);
  await store.prepare();
  const server = await listenCacheServer({ store, tokens: () => tokens, log: serverLog }, options.host, options.port);
  if (options.pidFile) await writeFile(options.pidFile, `${process.pid}\n`);
  serverLog(`cache-server: listening on ${server.url}, store ${store.entriesDir} (pid ${process.pid})`);

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1); // a second signal: do not wait for running transfers
    stopping = true;
    serverLog(`cache-server: ${signal}: stopping`);
    await server.stop();
    await removePidFile(options.pidFile);
    serverLog('cache-server: stopped');
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));
  // SIGHUP re-reads the token files, so a leaked token is revoked without a restart.
  process.on('SIGHUP', () => {
    Tokens.load(options.dir).then(
      (loaded) => {
        tokens = loaded;
        serverLog('cache-server: SIGHUP: tokens re-read');
      },
      (error: Error) => serverLog(`${error.message}; SIGHUP: kept the tokens in use`),
    );
  });
}

/** Only a pid file that still names this process: a newer server may have written it since. */
async function removePidFile(pidFile: string | undefined): Promise<void> {
  if (!pidFile) return;
  const named = (await readFile(pidFile, 'utf8').catch(() => '')).trim();
  if (named === String(process.pid)) await rm(pidFile, { force: true });
}

async function verify(options: Options): Promise<void> {
  const store = new EntryStore(options.dir, (line) => console.log(line));
  const { checked, removed } = await verifyStore(store);
  console.log(`cache-server: ${checked} entries checked, ${removed} removed`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await (options.command === 'serve' ? serve(options) : verify(options));
}

main().catch((error: unknown) => {
  if (error instanceof SetupError) console.error(error.message);
  else console.error(`cache-server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
