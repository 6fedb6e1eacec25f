/**
 * What a build leaves behind when it is stopped: its temp folders and staging, and the programs
 * it runs. Temp folders live under one folder (`$HOOK_TMPDIR/hook`, default `/tmp/hook`), named
 * `<what>-<pid>-<random>`; staging beside dist/ outputs carries `.staging-<pid>-` or `.tmp-<pid>`.
 * On SIGINT, SIGTERM or SIGHUP the running programs are stopped and every registered path is
 * removed before the process exits; a later build removes what builds that no longer run left
 * (by the pid in the name).
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '@hook/log';
import { setting } from '@hook/settings';

/** The signals that stop a build (Ctrl-C, kill, a closed terminal). */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** The exit code of a build stopped by a signal. */
export const INTERRUPTED_EXIT_CODE = 130;
/** How long stopped programs get to exit before the paths are removed anyway. */
const CHILD_GRACE_MS = 3000;

/** The one folder of Hook's temp files. */
export function hookTempRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(setting(env, 'HOOK_TMPDIR') ?? tmpdir(), 'hook');
}

/** A new temp folder `<hookTempRoot>/<what>-<pid>-<random>`, removed on an interrupt. */
export async function makeTempDir(what: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const root = hookTempRoot(env);
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(join(root, `${what}-${process.pid}-`));
  removeOnInterrupt(dir);
  return dir;
}

const pathsToRemove = new Set<string>();
interface Stoppable {
  pid?: number;
  kill(signal?: NodeJS.Signals): boolean;
  exitCode: number | null;
  signalCode?: NodeJS.Signals | null;
}
const runningChildren = new Set<Stoppable>();
let installed = false;
let stopping = false;

/**
 * Call when a program ended: while this process is being interrupted, it never returns (the
 * handler exits), so no "program failed" error is reported for a program the interrupt stopped.
 * A program that died of a stop signal may have got it before this process did (Ctrl-C reaches
 * the whole process group): such an end waits briefly for the interrupt to show.
 */
export async function holdIfInterrupted(programSignal?: string | null): Promise<void> {
  if (!stopping && installed && programSignal && (STOP_SIGNALS as readonly string[]).includes(programSignal)) {
    for (let i = 0; i < 10 && !stopping; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (stopping) await new Promise(() => undefined);
}

/** Removes `path` if this process is interrupted; the returned function forgets it again. */
export function removeOnInterrupt(path: string): () => void {
  installInterruptHandler();
  pathsToRemove.add(path);
  return () => pathsToRemove.delete(path);
}

/** Stops `child` if this process is interrupted (used by run and spawnFilter). */
export function stopOnInterrupt(child: Stoppable, done: Promise<unknown>): void {
  runningChildren.add(child);
  void done.then(
    () => runningChildren.delete(child),
    () => runningChildren.delete(child),
  );
}

/**
 * Installs the SIGINT/SIGTERM/SIGHUP handler once per process: programs first (SIGTERM, a few
 * seconds' grace), then the registered paths, then exit 130.
 */
export function installInterruptHandler(): void {
  if (installed) return;
  installed = true;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.warn(`${signal}: stopping, removing temp files and staging`);
    for (const child of runningChildren) child.kill('SIGTERM');
    const deadline = Date.now() + CHILD_GRACE_MS;
    const finish = () => {
      const waiting = [...runningChildren].some((c) => c.exitCode === null && !c.signalCode);
      if (waiting && Date.now() < deadline) {
        setTimeout(finish, 100);
        return;
      }
      removeRegisteredPaths();
      process.exit(INTERRUPTED_EXIT_CODE);
    };
    finish();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
}

function removeRegisteredPaths(): void {
  for (const path of pathsToRemove) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (error) {
      log.warn(`could not remove ${path}: ${(error as Error).message}`);
    }
  }
  pathsToRemove.clear();
}

/** True when a process with this pid runs (EPERM: it runs as another user). */
export function processRuns(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `<what>-<pid>-<random>` in the temp folder. */
const TEMP_NAME = /-(\d+)-[^-]+$/;
/** `.staging-<pid>-...`, `.tmp-<pid>-...`, `<file>.tmp-<pid>` beside outputs. */
const STAGING_NAME = /\.(?:staging|tmp)-(\d+)(?:-|$)/;

/** A folder to look for stale staging in, and how many levels down. */
export interface StagingDir {
  dir: string;
  depth: number;
}

/**
 * The temp folders and staging of builds that no longer run: the temp folder's entries, and
 * staging found in each of `stagingDirs` (never inside staging).
 */
export function findStaleTemp(stagingDirs: readonly StagingDir[], env: NodeJS.ProcessEnv = process.env): string[] {
  const stale: string[] = [];
  const tempRoot = hookTempRoot(env);
  for (const name of listDir(tempRoot)) {
    const pid = TEMP_NAME.exec(name)?.[1];
    if (pid && !processRuns(Number(pid))) stale.push(join(tempRoot, name));
  }
  const walk = (dir: string, levels: number) => {
    for (const name of listDir(dir)) {
      const path = join(dir, name);
      const pid = STAGING_NAME.exec(name)?.[1];
      if (pid) {
        if (!processRuns(Number(pid))) stale.push(path);
      } else if (levels > 1 && isDirectory(path)) walk(path, levels - 1);
    }
  };
  for (const { dir, depth } of stagingDirs) walk(dir, depth);
  return stale;
}

/** Removes what findStaleTemp finds. Returns the removed paths. */
export function removeStaleTemp(stagingDirs: readonly StagingDir[], env: NodeJS.ProcessEnv = process.env): string[] {
  const removed: string[] = [];
  for (const path of findStaleTemp(stagingDirs, env)) {
    try {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch (error) {
      log.warn(`could not remove stale ${path}: ${(error as Error).message}`);
    }
  }
  if (removed.length > 0) log.info(`Removed ${removed.length} temp folder(s) and staging of builds that no longer run`);
  for (const path of removed) log.debug(`removed stale ${path}`);
  return removed;
}

function listDir(dir: string): string[] {
  if (!existsSync(dir)) return [];
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
