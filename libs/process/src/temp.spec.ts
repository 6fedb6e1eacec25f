import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './index';
import { hookTempRoot, processRuns, removeStaleTemp } from './temp';

jest.setTimeout(120_000);

const root = join(__dirname, '../../..');

/** The pid of a process that has exited (a short `true`). */
async function deadPid(): Promise<number> {
  const { stdout } = await run('sh', ['-c', 'true & echo $!; wait']);
  const pid = Number(stdout.trim());
  expect(processRuns(pid)).toBe(false);
  return pid;
}

describe('removeStaleTemp', () => {
  it('removes the temp folders and staging of dead pids, and keeps those of running builds', async () => {
    const base = mkdtempSync(join(tmpdir(), 'hook-stale-test-'));
    const env = { HOOK_TMPDIR: join(base, 'tmp') };
    const dead = await deadPid();
    const dist = join(base, 'dist');
    const paths = {
      deadStaging: join(dist, 'hook', `.staging-${dead}-0a1b2c3d`),
      liveStaging: join(dist, 'hook', `.staging-${process.pid}-0a1b2c3d`),
      deadBlob: join(dist, 'images', 'svc', 'amd64', 'blobs', 'sha256', `.tmp-${dead}-abcdef`),
      deadInitramfs: join(dist, 'hook', `.staging-x`, `initramfs-x.tmp-${dead}`),
      deadTemp: join(hookTempRoot(env), `initramfs-${dead}-Xy12Zq`),
      liveTemp: join(hookTempRoot(env), `initramfs-${process.pid}-Xy12Zq`),
      output: join(dist, 'hook', 'initramfs-x'),
    };
    for (const path of Object.values(paths)) mkdirSync(path, { recursive: true });
    writeFileSync(join(paths.deadStaging, 'content.pack'), 'x');

    const removed = removeStaleTemp([{ dir: dist, depth: 6 }], env);

    expect(removed.sort()).toEqual([paths.deadStaging, paths.deadBlob, paths.deadInitramfs, paths.deadTemp].sort());
    for (const kept of [paths.liveStaging, paths.liveTemp, paths.output]) expect(existsSync(kept)).toBe(true);
    rmSync(base, { recursive: true, force: true });
  });
});

/** The stand-in builds a test started: each runs in a process group of its own, killed after the test. */
const started: { pid?: number }[] = [];
afterEach(() => {
  for (const build of started.splice(0)) {
    try {
      if (build.pid) process.kill(-build.pid, 'SIGKILL');
    } catch {
      // the group has ended already
    }
  }
});

/** Runs test/child.ts as a process of its own (a stand-in build), in its own process group. */
function child(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { execa } = require('execa') as typeof import('execa');
  const build = execa(process.execPath, ['-r', '@swc-node/register', join(__dirname, '../test/child.ts'), ...args], {
    cwd: root,
    env: { ...env, SWC_NODE_PROJECT: join(root, 'tsconfig.base.json') },
    reject: false,
    detached: true,
  });
  started.push(build);
  return build;
}

/**
 * Waits until the child's output so far satisfies `ready`. A loaded machine may take long to
 * compile the child, so the bound is most of the test's time; when it passes, the test fails
 * with what the child printed (never goes on to signal a child that is not ready).
 */
async function outputWhen(build: ReturnType<typeof child>, ready: (out: string) => boolean, boundMs = 100_000): Promise<string> {
  let out = '';
  let err = '';
  build.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  build.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  let exited = false;
  void build.then(() => (exited = true));
  for (const until = Date.now() + boundMs; !ready(out) && !exited && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
  if (!ready(out)) throw new Error(`the stand-in build was not ready ${exited ? 'and exited' : `after ${boundMs / 1000} s`}; stdout: ${JSON.stringify(out)}, stderr: ${JSON.stringify(err.slice(-2000))}`);
  return out;
}

describe('an interrupted process', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('on %s stops its programs, removes its temp folders and exits 130', async (signal) => {
    const base = mkdtempSync(join(tmpdir(), 'hook-interrupt-test-'));
    const staging = join(base, `.staging-${process.pid}-x`);
    const build = child(['interrupt', staging], { HOOK_TMPDIR: base });
    const dir = (await outputWhen(build, (out) => out.includes('\n'))).trim();
    const pidFile = join(dir, 'sleep.pid');
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
    const sleepPid = Number(readFileSync(pidFile, 'utf8'));
    expect(existsSync(staging)).toBe(true);
    build.kill(signal);
    const result = await build;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain(`${signal}: stopping, removing temp files and staging`);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(staging)).toBe(false);
    expect(processRuns(sleepPid)).toBe(false);
    rmSync(base, { recursive: true, force: true });
  });
});

describe('runForeground', () => {
  it('passes SIGTERM on to the program and says it was interrupted', async () => {
    const foreground = child(['foreground']);
    await outputWhen(foreground, (out) => out.includes('ready'));
    foreground.kill('SIGTERM');
    const lines = (await foreground).stdout.trim().split('\n');
    expect(JSON.parse(lines[lines.length - 1])).toEqual({ exitCode: 7, interruptedBy: 'SIGTERM' });
  });
});
