/**
 * Benchmark: the edit-build loop a HookOS developer lives in. Not a test: it prints figures,
 * medians of N runs, and their ratios against the comparison each names.
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/dev-loop.ts [--runs 3] [--flavor hook-debian-amd64] [--image hook-acpid]
 *
 * 1. The comparison: `zstd -T0 -19 --long=27` over the flavor's whole uncompressed cpio, what
 *    every change cost before the initramfs was written in segments.
 * 2. One file of one image changed (a comment line appended to the first file under
 *    images/<image>/rootfs, new text each run), then `./hook build <flavor>`: the image is built
 *    again and HookOS assembled at the release level. Ratio against 1.
 * 3. The same at the development level: `nx run <flavor>:build:dev` (what `hook run` builds).
 * 4. A build that changes nothing: `./hook build <flavor>` again.
 * 5. What the segments cost in size: the release initramfs against the same cpio as one stream.
 *
 * Every command runs with the Nx daemon off (NX_DAEMON=false), as CI and a first command do.
 * Needs a built flavor and a Docker engine (`bash scripts/dockerd.sh start`); the changed file
 * is restored and the flavor rebuilt (untimed) at the end. Timing wants a quiet machine.
 */
import { appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '@hook/process';
import { median, option } from './figures';

const root = resolve(__dirname, '..');

const runs = Number(option('runs', '3'));
const flavor = option('flavor', 'hook-debian-amd64');
const image = option('image', 'hook-acpid');
const env = { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false' };
const log = join(tmpdir(), 'hook-dev-loop.log');

/** Wall seconds of a command run in the workspace; its output goes to the log file. */
async function timed(command: string, args: string[]): Promise<number> {
  const started = process.hrtime.bigint();
  const result = await run(command, args, { cwd: root, env, timeoutMs: 1_800_000, allowFailure: true });
  await appendFile(log, `$ ${command} ${args.join(' ')}\n${result.stdout}\n${result.stderr}\n`);
  if (result.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.exitCode}); see ${log}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The first regular file under images/<image>/rootfs, whose text the loop changes. */
async function fileToChange(): Promise<string> {
  const walk = async (dir: string): Promise<string | undefined> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isFile()) return path;
      if (entry.isDirectory()) {
        const found = await walk(path);
        if (found) return found;
      }
    }
    return undefined;
  };
  const found = await walk(join(root, 'images', image, 'rootfs'));
  if (!found) throw new Error(`images/${image}/rootfs has no file to change; pick another --image`);
  return found;
}

/** Seconds for `build` after appending a new comment line to `file`, N times. */
async function afterChanges(file: string, original: string, build: [string, string[]]): Promise<number[]> {
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    await writeFile(file, `${original}# dev-loop ${process.pid} ${Date.now()} ${i}\n`);
    seconds.push(await timed(...build));
  }
  return seconds;
}

const fmt = (s: number) => `${s.toFixed(1)} s`;
const list = (values: number[]) => values.map((v) => v.toFixed(1)).join(', ');

async function main(): Promise<void> {
  await writeFile(log, '');
  const hookBuild: [string, string[]] = ['./hook', ['build', flavor]];
  const devBuild: [string, string[]] = ['node', ['node_modules/nx/dist/bin/nx.js', 'run', `${flavor}:build:dev`]];
  console.log(`dev-loop: ${flavor}, changing images/${image}, ${runs} runs each, Nx daemon off (log: ${log})`);
  await timed(...hookBuild); // the starting point, untimed

  const initramfs = join(root, 'dist/hook', `initramfs-${flavor}`);
  const work = await mkdtemp(join(tmpdir(), 'hook-dev-loop-'));
  const file = await fileToChange();
  const original = await readFile(file, 'utf8');
  try {
    // 1. The comparison: the whole cpio through zstd -19 --long=27 as one stream.
    const cpio = join(work, 'initramfs.cpio');
    await run('zstd', ['-dqf', initramfs, '-o', cpio]);
    const whole: number[] = [];
    for (let i = 0; i < runs; i++) whole.push(await timed('zstd', ['-T0', '-19', '--long=27', '-qf', cpio, '-o', join(work, 'whole.zst')]));
    const wholeSize = (await stat(join(work, 'whole.zst'))).size;
    const segmentedSize = (await stat(initramfs)).size;

    // 2-4.
    const release = await afterChanges(file, original, hookBuild);
    const development = await afterChanges(file, original, devBuild);
    await writeFile(file, original);
    await timed(...hookBuild);
    const noop: number[] = [];
    for (let i = 0; i < runs; i++) noop.push(await timed(...hookBuild));

    const base = median(whole);
    console.log(`whole cpio, zstd -T0 -19 --long=27 (${(cpioSizeMiB(await stat(cpio)))} MiB): ${fmt(base)} (${list(whole)})`);
    console.log(`one ${image} file changed, ./hook build (release level): ${fmt(median(release))} (${list(release)}) = ${(median(release) / base).toFixed(2)}x the whole cpio (goal <= 0.2x)`);
    console.log(`one ${image} file changed, nx run ${flavor}:build:dev (development level): ${fmt(median(development))} (${list(development)}) = ${(median(development) / base).toFixed(2)}x the whole cpio (goal < 10 s)`);
    console.log(`no-op ./hook build: ${fmt(median(noop))} (${list(noop)}) (goal < 2 s)`);
    console.log(`size: segmented ${segmentedSize} bytes, one stream ${wholeSize} bytes: ${(((segmentedSize - wholeSize) / wholeSize) * 100).toFixed(2)} % (${segmentedSize - wholeSize} bytes)`);
  } finally {
    await writeFile(file, original);
    await rm(work, { recursive: true, force: true });
  }
}

function cpioSizeMiB(info: { size: number }): string {
  return (info.size / 2 ** 20).toFixed(1);
}

main().catch((error: Error) => {
  console.error(`dev-loop: ${error.message}`);
  process.exitCode = 1;
});
