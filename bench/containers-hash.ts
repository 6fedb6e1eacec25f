/**
 * Benchmark: @hook/containers' directory hash against upstream Hook's shell pipeline on the same
 * large image folder. Not a test: it prints figures.
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/containers-hash.ts
 *
 * Options: --runs N (default 7), --files N (default 5000), --work DIR (default
 * /tmp/hook-containers-hash-bench; the folder is generated there once and reused).
 *
 * The folder imitates a large image folder (vendored sources plus a few binaries): N files of
 * 0-32 KiB in 100 nested directories and 4 files of 8 MiB, deterministic content. Both sides
 * hash `images/big` from the work directory, as upstream does from the repository root:
 *   find images/big -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
 * The first (untimed) run checks they agree and warms the page cache for both.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { hashDirectory } from '@hook/containers';
import { run } from '@hook/process';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const runs = Number(option('runs', '7'));
const fileCount = Number(option('files', '5000'));
const work = option('work', '/tmp/hook-containers-hash-bench');
const folder = 'images/big';

/** Deterministic pseudo-random bytes (sha256 in counter mode). */
function bytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0, i = 0; offset < length; i++) offset += createHash('sha256').update(`${seed}/${i}`).digest().copy(out, offset);
  return out;
}

async function generate(): Promise<void> {
  const root = join(work, folder);
  const existing = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  if (existing.length >= fileCount) return;
  console.log(`generating ${fileCount} files in ${root} ...`);
  for (let i = 0; i < fileCount; i++) {
    const dir = join(root, `pkg-${i % 10}`, `mod-${i % 100}`);
    await mkdir(dir, { recursive: true });
    const size = createHash('sha256').update(String(i)).digest().readUInt16LE(0) % (32 * 1024);
    await writeFile(join(dir, `file-${i}.go`), bytes(`f${i}`, size));
  }
  for (let i = 0; i < 4; i++) await writeFile(join(root, `binary-${i}`), bytes(`b${i}`, 8 * 1024 * 1024));
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  await generate();
  const upstream = () => run('sh', ['-c', 'find "$1" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum', 'bench', folder], { cwd: work });
  const ours = await hashDirectory(work, folder);
  const theirs = (await upstream()).stdout.split(' ')[0];
  if (ours !== theirs) throw new Error(`hashes differ: ours ${ours}, upstream ${theirs}`);
  console.log(`folder: ${fileCount + 4} files; both give ${ours.slice(0, 16)}...`);

  const oursMs: number[] = [];
  const upstreamMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate so that neither side always runs on a warmer machine.
    upstreamMs.push(await timeMs(upstream));
    oursMs.push(await timeMs(() => hashDirectory(work, folder)));
  }
  const [o, u] = [median(oursMs), median(upstreamMs)];
  console.log(`runs: ${runs} (median)`);
  console.log(`upstream shell pipeline: ${u.toFixed(0)} ms   [${upstreamMs.map((v) => v.toFixed(0)).join(' ')}]`);
  console.log(`@hook/containers:        ${o.toFixed(0)} ms   [${oursMs.map((v) => v.toFixed(0)).join(' ')}]`);
  console.log(`ratio ours/upstream:     ${(o / u).toFixed(2)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
