/**
 * Benchmark: a build that changes nothing, with the Nx daemon off: `./hook build <flavor>` and
 * `npx nx run <flavor>:build` when every task is a cache hit and dist/ already holds the build, in
 * this working tree and (with --base) in a git worktree of a comparison ref. Not a test: it prints
 * figures, medians of N runs, and the ratios.
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/noop.ts [--base <ref>] [--runs 5] [--flavor hook-debian-amd64]
 *
 * Each side first runs `./hook build` once untimed: that builds whatever is not built yet (Nx's
 * cache is shared between worktrees, so a ref whose hashes were built before restores instead),
 * so give it the machine the way you give any build. Each way runs in a block of its own (see
 * measureNoop). A timed run in which Nx ran a task is
 * reported, not hidden: its figure is not a no-op. The sides alternate run by run so that a change
 * in the machine's load falls on both; timing wants a quiet machine.
 *
 * measureNoop(root, flavor, runs) is the figure for one tree (bench/dev-loop.ts may use it).
 */
import { mkdir, mkdtemp, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '@hook/process';
import { median, option } from './figures';

const root = resolve(__dirname, '..');

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };

export type NoopWay = 'hook build' | 'npx nx run';

/** Wall seconds of one no-op build, and whether Nx ran any task (then it was not a no-op). */
export async function timeNoop(dir: string, flavor: string, way: NoopWay): Promise<{ seconds: number; ranTasks: boolean }> {
  const [command, args] = way === 'hook build' ? ['./hook', ['build', flavor]] : ['npx', ['nx', 'run', `${flavor}:build`]];
  const started = process.hrtime.bigint();
  const { stdout, stderr } = await run(command, args as string[], { cwd: dir, env, timeoutMs: 3 * 60 * 60_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const counts = /for (\d+) out of (\d+) tasks/.exec(`${stdout}\n${stderr}`);
  return { seconds, ranTasks: !counts || counts[1] !== counts[2] };
}

export interface NoopFigures {
  /** Seconds of each timed run, per way. */
  runs: Record<NoopWay, number[]>;
  median: Record<NoopWay, number>;
  /** Timed runs in which Nx ran a task. */
  notNoop: number;
}

/**
 * One untimed `./hook build` (builds what is missing), then per way one untimed and `runs` timed
 * no-ops in a row: `npx nx run` copies every output from the cache and so makes the next `./hook
 * build` copy once too; mixed, neither figure is that of a user repeating one command.
 */
export async function measureNoop(dir: string, flavor: string, runs: number): Promise<NoopFigures> {
  await timeNoop(dir, flavor, 'hook build');
  const figures: NoopFigures = { runs: { 'hook build': [], 'npx nx run': [] }, median: { 'hook build': 0, 'npx nx run': 0 }, notNoop: 0 };
  for (const way of WAYS) {
    await timeNoop(dir, flavor, way);
    for (let i = 0; i < runs; i++) await measureOnce(dir, flavor, way, figures);
  }
  return finish(figures);
}

const WAYS = ['hook build', 'npx nx run'] as const;

async function measureOnce(dir: string, flavor: string, way: NoopWay, figures: NoopFigures): Promise<void> {
  const { seconds, ranTasks } = await timeNoop(dir, flavor, way);
  figures.runs[way].push(seconds);
  if (ranTasks) figures.notNoop++;
}

function finish(figures: NoopFigures): NoopFigures {
  for (const way of WAYS) figures.median[way] = median(figures.runs[way]);
  return figures;
}

/**
 * The worktree's node_modules: links to this tree's packages, except the workspace's own
 * (@hook/nx-plugin points into the worktree) and .cache (the CLI's and the plugin's bundles are
 * built per tree).
 */
async function linkNodeModules(worktree: string): Promise<void> {
  const from = join(root, 'node_modules');
  const to = join(worktree, 'node_modules');
  await mkdir(to);
  await mkdir(join(to, '.cache'));
  for (const name of await readdir(from)) {
    if (name === '.cache') continue;
    if (name !== '@hook') {
      await symlink(join(from, name), join(to, name));
      continue;
    }
    await mkdir(join(to, name));
    for (const entry of await readdir(join(from, name))) await symlink(await readlink(join(from, name, entry)), join(to, name, entry));
  }
}

function describe(name: string, figures: NoopFigures, runs: number): string {
  const list = (way: NoopWay) => figures.runs[way].map((s) => s.toFixed(2)).join(', ');
  const warning = figures.notNoop > 0 ? `; ${figures.notNoop} timed runs ran a task (not a no-op)` : '';
  return `${name}: ./hook build median ${figures.median['hook build'].toFixed(2)} s of ${runs} (${list('hook build')}); npx nx run median ${figures.median['npx nx run'].toFixed(2)} s (${list('npx nx run')})${warning}`;
}

async function main(): Promise<void> {
  const runs = Number(option('runs', '5'));
  const flavor = option('flavor', 'hook-debian-amd64');
  const base = option('base', '');
  if (!base) {
    console.log(describe(`this working tree, ${flavor}, daemon off`, await measureNoop(root, flavor, runs), runs));
    return;
  }
  const { stdout: commit } = await run('git', ['rev-parse', '--short', base], { cwd: root });
  const work = await mkdtemp(join(tmpdir(), 'hook-bench-noop-'));
  const other = join(work, 'base');
  try {
    await run('git', ['worktree', 'add', '--detach', other, base], { cwd: root });
    await linkNodeModules(other);
    const sides = [
      { name: 'this working tree', dir: root, figures: undefined as NoopFigures | undefined },
      { name: `${base} (${commit.trim()})`, dir: other, figures: undefined as NoopFigures | undefined },
    ];
    for (const side of sides) {
      await timeNoop(side.dir, flavor, 'hook build');
      side.figures = { runs: { 'hook build': [], 'npx nx run': [] }, median: { 'hook build': 0, 'npx nx run': 0 }, notNoop: 0 };
    }
    for (const way of WAYS) {
      for (const side of sides) await timeNoop(side.dir, flavor, way);
      for (let i = 0; i < runs; i++) {
        for (const side of i % 2 ? [...sides].reverse() : sides) await measureOnce(side.dir, flavor, way, side.figures!);
      }
    }
    for (const side of sides) console.log(describe(`${side.name}, ${flavor}, daemon off`, finish(side.figures!), runs));
    const [now, then] = sides.map((side) => side.figures!);
    console.log(`ratio (${sides[1]!.name} / this working tree): ./hook build ${(then!.median['hook build'] / now!.median['hook build']).toFixed(2)}x, npx nx run ${(then!.median['npx nx run'] / now!.median['npx nx run']).toFixed(2)}x`);
  } finally {
    await run('git', ['worktree', 'remove', '--force', other], { cwd: root, allowFailure: true });
    await rm(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
