/**
 * Benchmark: what the Hook Nx plugin costs every Nx command. `npx nx show projects` with the daemon
 * off (Nx loads the plugin and infers every project), and the plugin's module load alone (a
 * fresh node requiring tools/hook-nx-plugin/src/index.ts), in this working tree and in a git
 * worktree of a comparison ref. Not a test: it prints figures, medians of N runs, and the ratios.
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/plugin-load.ts --base <ref> [--runs 5]
 *
 * --base: the ref to compare with (default HEAD, i.e. the working tree's uncommitted change), e.g.
 * the commit before the plugin stopped importing @hook/bootable. Each side runs once untimed first
 * (Nx fills .nx/workspace-data), then the sides alternate run by run so that a change in the
 * machine's load falls on both. Timing wants a quiet machine.
 */
import { mkdir, mkdtemp, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '@hook/process';
import { median, option } from './figures';

const root = resolve(__dirname, '..');

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };

/**
 * The worktree's node_modules: links to this tree's packages, except that the workspace's own
 * (node_modules/@hook/nx-plugin -> ../../tools/hook-nx-plugin) point into the worktree; a link to
 * the whole folder would load this tree's plugin there too (Node follows it to its real path).
 */
async function linkNodeModules(worktree: string): Promise<void> {
  const from = join(root, 'node_modules');
  const to = join(worktree, 'node_modules');
  await mkdir(to);
  for (const name of await readdir(from)) {
    if (name !== '@hook') {
      await symlink(join(from, name), join(to, name));
      continue;
    }
    await mkdir(join(to, name));
    for (const entry of await readdir(join(from, name))) await symlink(await readlink(join(from, name, entry)), join(to, name, entry));
  }
}

/** Wall seconds of `npx nx show projects`, as a user types it, and how many projects it listed. */
async function showProjects(dir: string): Promise<{ seconds: number; projects: number }> {
  const started = process.hrtime.bigint();
  const { stdout } = await run('npx', ['nx', 'show', 'projects'], { cwd: dir, env, timeoutMs: 300_000 });
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, projects: stdout.split('\n').filter(Boolean).length };
}

/** Seconds a fresh node spends requiring the plugin's entry (through @swc-node/register, as here). */
async function pluginLoad(dir: string): Promise<number> {
  const script = "const t = process.hrtime.bigint(); require('./tools/hook-nx-plugin/src/index.ts'); console.log(Number(process.hrtime.bigint() - t) / 1e9);";
  const { stdout } = await run(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: dir, env: { ...env, SWC_NODE_PROJECT: 'tsconfig.base.json' }, timeoutMs: 120_000 });
  return Number(stdout.trim().split('\n').pop());
}

async function main(): Promise<void> {
  const runs = Number(option('runs', '5'));
  const base = option('base', 'HEAD');
  const { stdout: commit } = await run('git', ['rev-parse', '--short', base], { cwd: root });
  const work = await mkdtemp(join(tmpdir(), 'hook-bench-plugin-'));
  const other = join(work, 'base');
  try {
    await run('git', ['worktree', 'add', '--detach', other, base], { cwd: root });
    await linkNodeModules(other);
    const sides = [
      { name: 'this working tree', dir: root, show: [] as number[], load: [] as number[], projects: 0 },
      { name: `${base} (${commit.trim()})`, dir: other, show: [] as number[], load: [] as number[], projects: 0 },
    ];
    for (const side of sides) side.projects = (await showProjects(side.dir)).projects;
    for (let i = 0; i < runs; i++) {
      for (const side of i % 2 ? [...sides].reverse() : sides) {
        side.show.push((await showProjects(side.dir)).seconds);
        side.load.push(await pluginLoad(side.dir));
      }
    }
    const [now, then] = sides;
    for (const side of sides) {
      console.log(`${side.name}: nx show projects (daemon off, ${side.projects} projects) median ${median(side.show).toFixed(2)} s of ${runs} (${side.show.map((s) => s.toFixed(2)).join(', ')}); plugin module load median ${(median(side.load) * 1000).toFixed(0)} ms (${side.load.map((s) => (s * 1000).toFixed(0)).join(', ')})`);
    }
    console.log(`ratio (${then!.name} / this working tree): nx show projects ${(median(then!.show) / median(now!.show)).toFixed(2)}x, plugin module load ${(median(then!.load) / median(now!.load)).toFixed(2)}x`);
  } finally {
    await run('git', ['worktree', 'remove', '--force', other], { cwd: root, allowFailure: true });
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
