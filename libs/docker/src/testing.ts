/**
 * Test support: a real Docker engine for integration tests. When none answers, starts Debian's
 * `dockerd` (package docker.io, needs root) on the default socket, with its own pidfile and log,
 * and stops only that daemon afterwards. Images it builds stay in /var/lib/docker, so a second
 * test run reuses them as a developer's engine would.
 */
import { open, readFile, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@hook/log';
import { hasCommand, processRuns, run } from '@hook/process';
import { type DockerEngine, connectDocker } from './engine';

export interface TestDockerd {
  engine: DockerEngine;
  /** True when this call started the daemon (and stop() will stop it). */
  started: boolean;
  /** The daemon's log, when started here. */
  logPath?: string;
  /** Stops the daemon if this call started it; otherwise does nothing. Safe to call twice. */
  stop(): Promise<void>;
}

export interface EnsureDockerdOptions {
  /** Where the pidfile and log go; default /run/hook-test-dockerd. */
  stateDir?: string;
  /** How long to wait for a started daemon to answer; default 60 s. */
  startTimeoutMs?: number;
}

const DEFAULT_STATE_DIR = '/run/hook-test-dockerd';

export async function ensureDockerd(options: EnsureDockerdOptions = {}): Promise<TestDockerd> {
  const existing = await tryConnect();
  if (existing) return { engine: existing, started: false, stop: async () => undefined };

  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  await mkdir(stateDir, { recursive: true });
  // Two test processes may get here at once: one starts the daemon, the other waits for it.
  const lockPath = join(stateDir, 'start.lock');
  const lock = await acquireLock(lockPath, 90_000);
  try {
    const raced = await tryConnect();
    if (raced) return { engine: raced, started: false, stop: async () => undefined };
    if (!(await hasCommand('dockerd'))) throw new Error('no Docker engine answers and dockerd is not installed: apt-get install docker.io');
    if (process.getuid?.() !== 0) throw new Error('no Docker engine answers and starting dockerd needs root: start it yourself (systemctl start docker)');

    const pidPath = join(stateDir, 'dockerd.pid');
    const logPath = join(stateDir, 'dockerd.log');
    await rm(pidPath, { force: true });
    // setsid: the daemon outlives this shell; the test stops it explicitly in stop().
    await run('sh', ['-c', 'setsid dockerd --pidfile "$1" --host unix:///var/run/docker.sock >"$2" 2>&1 </dev/null &', 'dockerd', pidPath, logPath]);
    log.info(`started dockerd for the tests (log ${logPath})`);

    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
    let engine: DockerEngine | undefined;
    let pid: number | undefined;
    while (Date.now() < deadline) {
      pid ??= await readPid(pidPath);
      engine = await tryConnect();
      if (engine && pid) break;
      await sleep(250);
    }
    if (!engine || !pid) {
      if (pid) await stopProcess(pid);
      const tail = (await readFile(logPath, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      throw new Error(`dockerd did not answer within ${(options.startTimeoutMs ?? 60_000) / 1000}s; its log ends with:\n${tail}`);
    }
    const startedPid = pid;
    let stopped = false;
    return {
      engine,
      started: true,
      logPath,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await stopProcess(startedPid);
      },
    };
  } finally {
    await lock.release();
  }
}

async function tryConnect(): Promise<DockerEngine | undefined> {
  try {
    return await connectDocker({ ...process.env }, 3000);
  } catch {
    return undefined;
  }
}

async function readPid(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}


/** SIGTERM, a bounded wait for dockerd to stop its containers and exit, then SIGKILL. */
async function stopProcess(pid: number, graceMs = 20_000): Promise<void> {
  if (!processRuns(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && processRuns(pid)) await sleep(100);
  if (processRuns(pid)) process.kill(pid, 'SIGKILL');
}

/** An exclusive lock file holding our pid; a lock whose holder died is taken over. */
async function acquireLock(path: string, timeoutMs: number): Promise<{ release(): Promise<void> }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
    const holder = await readPid(path);
    if (holder && !processRuns(holder)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path} (held by pid ${holder ?? '?'})`);
    await sleep(200);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
