/**
 * The worker services of HookOS are POSIX sh scripts in images/hook-docker (design decision 7).
 * This module runs those very scripts on a build host, with BusyBox's sh as HookOS does, for
 * tests: as one-shot commands or as long-running services whose JSON-lines log is collected.
 */
import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run, spawnFilter } from '@hook/process';

const IMAGE_DIR = resolve(__dirname, '../../../images/hook-docker');
export const HOOK_DOCKER_SCRIPT = join(IMAGE_DIR, 'hook-docker.sh');
export const BOOTKIT_SCRIPT = join(IMAGE_DIR, 'bootkit.sh');
/**
 * The kernel command-line helper the image carries at /usr/lib/hook/cmdline.sh (one copy for
 * every image, in libs/containers/assets): hook-lib.sh sources it from HOOK_CMDLINE_LIB.
 */
const CMDLINE_LIB = resolve(__dirname, '../../containers/assets/cmdline.sh');

/** The scripts' environment: `env`, with the repository's cmdline.sh unless it names one. */
function scriptEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { HOOK_CMDLINE_LIB: CMDLINE_LIB, ...env };
}

/** One line of a service's log: the JSON object it printed, or `{ raw }` for any other line. */
export type LogLine = Record<string, string> & { raw: string };

/**
 * A directory of BusyBox applet links, to put first on PATH: the scripts then run `sleep`,
 * `awk`, `od`, `timeout` ... from BusyBox as in HookOS, and only `docker`/`dockerd` from the host.
 */
export async function busyboxPath(): Promise<{ dir: string; path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hook-busybox-'));
  const { stdout } = await run('busybox', ['--list']);
  for (const applet of stdout.split('\n').map((a) => a.trim())) {
    if (applet) await symlink((await which('busybox'))!, join(dir, applet));
  }
  return { dir, path: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`, remove: () => rm(dir, { recursive: true, force: true }) };
}

let busyboxBin: string | undefined;
async function which(command: string): Promise<string | undefined> {
  if (command === 'busybox' && busyboxBin) return busyboxBin;
  const { stdout, exitCode } = await run('sh', ['-c', `command -v ${command}`], { allowFailure: true });
  const found = exitCode === 0 ? stdout.trim() : undefined;
  if (command === 'busybox') busyboxBin = found;
  return found;
}

/** Runs a script to its end with `busybox sh`; never throws for a non-zero exit. */
export async function runScript(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ exitCode: number; lines: LogLine[]; output: string }> {
  const result = await run('busybox', ['sh', script, ...args], { env: scriptEnv(env), allowFailure: true, timeoutMs });
  const output = `${result.stdout}\n${result.stderr}`.trim();
  return { exitCode: result.exitCode, lines: parseLog(output), output };
}

export function parseLog(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((raw) => {
      try {
        const value = JSON.parse(raw) as unknown;
        if (value && typeof value === 'object' && !Array.isArray(value)) return { ...(value as Record<string, string>), raw };
      } catch {
        // not a JSON line: dockerd's own log, for example
      }
      return { raw } as LogLine;
    });
}

export interface RunningScript {
  /** Every line printed so far (stdout and stderr). */
  lines(): LogLine[];
  /** Resolves with the first line that matches, or rejects after timeoutMs with the log's tail. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs: number, what?: string): Promise<LogLine>;
  /** Resolves with the exit code when the script ends by itself (or is stopped). */
  exited: Promise<number>;
  /** SIGTERM, then waits for the end (the wrapper kills it after 10 s); safe to call twice. */
  stop(): Promise<number>;
}

/**
 * Starts a script as a service. A small sh wrapper keeps it alive while our end of its stdin
 * is open: closing it (stop(), or this process dying) sends SIGTERM. `timeout` bounds its
 * life (lifetimeMs, default 10 min) in case a test forgets to stop it.
 */
export async function startScript(script: string, args: string[], env: NodeJS.ProcessEnv, lifetimeMs = 10 * 60_000): Promise<RunningScript> {
  const wrapper = [
    'life=$1; shift',
    'exec 3<&0',
    'timeout -k 10 "$life" busybox sh "$@" 2>&1 </dev/null & pid=$!',
    '{ cat <&3 >/dev/null; kill -TERM "$pid" 2>/dev/null; } >/dev/null 2>&1 &',
    'exec 3<&-',
    'wait "$pid"; status=$?',
    'echo "__exit $status"',
  ].join('\n');
  const handle = await spawnFilter('sh', ['-c', wrapper, 'service', `${Math.ceil(lifetimeMs / 1000)}s`, script, ...args], { env: scriptEnv(env) });
  const collected: LogLine[] = [];
  const waiters = new Set<() => void>();
  let pending = '';
  let exitCode: number | undefined;
  let markExited: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolveExit) => {
    markExited = resolveExit;
  });
  handle.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const raw of parts) {
      const exit = /^__exit (\d+)$/.exec(raw);
      if (exit) {
        exitCode = Number(exit[1]);
        markExited(exitCode);
      } else collected.push(...parseLog(raw));
    }
    for (const wake of waiters) wake();
  });
  const settle = () => {
    exitCode ??= -1;
    markExited(exitCode);
    for (const wake of waiters) wake();
  };
  handle.done.then(settle, settle);
  let stopping: Promise<number> | undefined;
  return {
    lines: () => [...collected],
    exited,
    waitFor(match, timeoutMs, what = 'a matching log line') {
      return new Promise((resolvePromise, reject) => {
        let done = false;
        const check = () => {
          const found = collected.find(match);
          if (found) finish(() => resolvePromise(found));
          else if (exitCode !== undefined) finish(() => reject(new Error(`the script exited (${exitCode}) before ${what}; its log ends:\n${tail(collected)}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms; the log ends:\n${tail(collected)}`))), timeoutMs);
        const finish = (settle: () => void) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    stop() {
      stopping ??= (async () => {
        handle.stdin.end();
        return exited;
      })();
      return stopping;
    },
  };
}

function tail(lines: LogLine[]): string {
  return lines
    .slice(-15)
    .map((l) => l.raw)
    .join('\n');
}

/** The names of the entries of a directory, or [] when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
