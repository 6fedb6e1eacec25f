/**
 * Benchmark: hook-debian-amd64 from a clean clone of HEAD cold, warm from the local Nx cache,
 * and warm from the remote cache (cache-server/ on loopback, a second clean clone), with the
 * peak memory of the Nx process that stores and restores the entries. Not a test: it prints
 * figures. Heavy: run it alone (`/work/briefs/heavy` or an idle machine).
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/cache.ts [--runs 3]
 *
 * Needs Debian packages: curl, and a Docker engine. "Cold" means a clean clone with empty
 * Nx caches. The Docker engine keeps the images it already holds by tag and its layer cache, and
 * the kernel is Debian's prebuilt one, so a cold build on a new machine takes longer.
 * Peak memory: VmHWM of the Nx main process (it stores and restores entries, in its Rust code),
 * sampled every 0.2 s; the executors run in child processes and are not counted.
 */
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatBytes } from '@hook/log';
import { makeTempDir, run, shellQuote } from '@hook/process';
import { cloneWorkspace, headCommit, nxEntry, startCacheServer, type CacheServer } from '@hook/remote-cache';

const root = resolve(__dirname, '..');
const FLAVOR = 'hook-debian-amd64';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Measured {
  seconds: number;
  /** Peak RSS of the Nx main process, bytes. */
  peakRss: number;
  how: Map<string, string>;
}

/** One `nx run <flavor>:build` with the Nx main process's peak RSS sampled from /proc. */
async function build(dir: string, env: NodeJS.ProcessEnv): Promise<Measured> {
  const hwm = join(dir, '.bench-hwm');
  const script = `node ${shellQuote(nxEntry(dir))} run ${FLAVOR}:build --outputStyle=static > .bench-output 2>&1 & pid=$!
while kill -0 "$pid" 2>/dev/null; do grep VmHWM "/proc/$pid/status" > ${shellQuote(hwm)}.new 2>/dev/null && mv ${shellQuote(hwm)}.new ${shellQuote(hwm)}; sleep 0.2; done
wait "$pid"`;
  const started = process.hrtime.bigint();
  const result = await run('bash', ['-c', script], { cwd: dir, env: { NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', ...env }, allowFailure: true, timeoutMs: 60 * 60_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const output = await readFile(join(dir, '.bench-output'), 'utf8');
  if (result.exitCode !== 0) throw new Error(`${FLAVOR}:build failed in ${dir}:\n${output.slice(-3000)}`);
  const kib = Number(/VmHWM:\s+(\d+)/.exec(await readFile(hwm, 'utf8').catch(() => ''))?.[1] ?? 0);
  const how = new Map<string, string>();
  for (const m of output.matchAll(/^> nx run (\S+)(?:\s+\[([^\]]+)\])?/gm)) how.set(m[1], m[2] ?? 'ran');
  return { seconds, peakRss: kib * 1024, how };
}

function summary(m: Measured): string {
  const counts = new Map<string, number>();
  for (const how of m.how.values()) counts.set(how, (counts.get(how) ?? 0) + 1);
  return [...counts].map(([how, n]) => `${n} ${how}`).join(', ');
}

async function main(): Promise<void> {
  const runs = option('runs', 3);
  const work = await makeTempDir('bench-cache');
  let server: CacheServer | undefined;
  try {
    server = await startCacheServer();
    const lines: string[] = [];
    const say = (line: string) => {
      lines.push(line);
      console.log(line);
    };

    const cold = await cloneWorkspace(root, join(work, 'cold'));
    const coldRun = await build(cold, server.nxEnv());
    say(`cold (clean clone, stores every entry): ${coldRun.seconds.toFixed(1)} s; ${summary(coldRun)}; Nx peak RSS ${formatBytes(coldRun.peakRss)}`);

    const entries = await Promise.all((await readdir(server.entriesDir)).map(async (name) => (await stat(join(server!.entriesDir, name))).size));
    const largest = Math.max(...entries);
    say(`remote cache: ${entries.length} entries, ${formatBytes(entries.reduce((a, b) => a + b, 0))} in all, largest ${formatBytes(largest)}`);

    const local: Measured[] = [];
    for (let i = 0; i < runs; i++) {
      await rm(join(cold, 'dist'), { recursive: true, force: true });
      local.push(await build(cold, { ...server.nxEnv(), NX_SKIP_REMOTE_CACHE: 'true' }));
    }
    say(`warm, local cache (rm -rf dist): median ${median(local.map((m) => m.seconds)).toFixed(1)} s of ${runs} (${local.map((m) => m.seconds.toFixed(1)).join(', ')}); ${summary(local[0])}; Nx peak RSS ${formatBytes(Math.max(...local.map((m) => m.peakRss)))}`);

    const remote: Measured[] = [];
    // The cold clone's commit: HEAD may have moved during the cold build.
    const second = await cloneWorkspace(root, join(work, 'remote'), await headCommit(cold));
    for (let i = 0; i < runs; i++) {
      for (const path of ['dist', '.nx']) await rm(join(second, path), { recursive: true, force: true });
      remote.push(await build(second, server.nxEnv(server.readOnlyToken)));
    }
    say(`warm, remote cache (second clean clone, read-only token): median ${median(remote.map((m) => m.seconds)).toFixed(1)} s of ${runs} (${remote.map((m) => m.seconds.toFixed(1)).join(', ')}); ${summary(remote[0])}; Nx peak RSS ${formatBytes(Math.max(...remote.map((m) => m.peakRss)))}`);
    say(`peak memory of the largest transfer (${formatBytes(largest)}): storing ${formatBytes(coldRun.peakRss)} (the cold run's Nx process), restoring ${formatBytes(Math.max(...remote.map((m) => m.peakRss)))}`);
  } finally {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
