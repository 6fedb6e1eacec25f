/**
 * The one module that runs external programs (docker CLI fallbacks, make, qemu, zstd,
 * xorriso, apt ...). Everything else calls these functions, so unit tests can replace
 * this module and integration tests exercise the real programs.
 */
import type { Readable, Writable } from 'node:stream';
import { UserError, log } from '@hook/log';
import { INTERRUPTED_EXIT_CODE, STOP_SIGNALS, holdIfInterrupted, stopOnInterrupt } from './temp';

export {
  INTERRUPTED_EXIT_CODE,
  STOP_SIGNALS,
  hookTempRoot,
  installInterruptHandler,
  makeTempDir,
  processRuns,
  removeOnInterrupt,
  findStaleTemp,
  removeStaleTemp,
  type StagingDir,
} from './temp';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Data or a stream fed to the program's stdin. */
  input?: string | Buffer | Readable;
  /** Show the program's output live (long steps) instead of capturing it. */
  inherit?: boolean;
  /** Kill the program after this many milliseconds. */
  timeoutMs?: number;
  /** Resolve instead of throwing when the program exits non-zero. */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

type Execa = typeof import('execa');
let execaModule: Promise<Execa> | undefined;
function loadExeca(): Promise<Execa> {
  // execa is ESM-only; Node >= 20.19 can require() it, and this keeps one place that does.
  execaModule ??= Promise.resolve(require('execa') as Execa);
  return execaModule;
}

/** Runs a program to completion and returns its output. */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { execa } = await loadExeca();
  log.debug(`run: ${[command, ...args].join(' ')}`);
  const input = options.input;
  const child = execa(command, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: true,
    reject: false,
    timeout: options.timeoutMs,
    stdin: input === undefined ? (options.inherit ? 'inherit' : 'ignore') : undefined,
    input: typeof input === 'string' || Buffer.isBuffer(input) ? input : undefined,
    inputFile: undefined,
    stdout: options.inherit ? 'inherit' : 'pipe',
    stderr: options.inherit ? 'inherit' : 'pipe',
    ...(input !== undefined && typeof input !== 'string' && !Buffer.isBuffer(input) ? { stdin: input } : {}),
    stripFinalNewline: true,
  });
  stopOnInterrupt(child, child);
  const result = await child;
  if (result.failed) await holdIfInterrupted(result.signal);
  if (result.failed && 'code' in result && (result as { code?: string }).code === 'ENOENT') {
    throw new UserError(`'${command}' is not installed or not on PATH; install it (Debian: apt-get install ${packageHint(command)})`);
  }
  const outcome: RunResult = {
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr: typeof result.stderr === 'string' ? result.stderr : '',
    exitCode: result.exitCode ?? (result.timedOut ? 124 : 1),
  };
  if (outcome.exitCode !== 0 && !options.allowFailure) {
    const detail = lastLine(outcome.stderr) || lastLine(outcome.stdout);
    const why = result.timedOut ? `timed out after ${options.timeoutMs} ms` : `exited with code ${outcome.exitCode}`;
    throw new ProcessError(`${command} ${why}${detail ? `: ${detail}` : ''}`, outcome);
  }
  return outcome;
}

/** True when a program can be found on PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  const result = await run('sh', ['-c', `command -v ${shellQuote(command)}`], { allowFailure: true });
  return result.exitCode === 0;
}

export interface PipeHandle {
  /** Write into the program's stdin. */
  stdin: Writable;
  /** Read the program's stdout. */
  stdout: Readable;
  /** Resolves when the program exits successfully; rejects with its stderr otherwise. */
  done: Promise<void>;
}

/**
 * Starts a program as a filter in a streaming pipeline (for example `zstd -19`), without
 * buffering its output in memory.
 */
export async function spawnFilter(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<PipeHandle> {
  const { execa } = await loadExeca();
  log.debug(`filter: ${[command, ...args].join(' ')}`);
  const child = execa(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    encoding: 'buffer',
    reject: false,
  });
  if (!child.stdin || !child.stdout) throw new Error(`could not start ${command}`);
  stopOnInterrupt(child, child);
  const done = child.then(async (result) => {
    if (result.failed) await holdIfInterrupted(result.signal);
    if ((result as { code?: string }).code === 'ENOENT') {
      throw new UserError(`'${command}' is not installed or not on PATH; install it (Debian: apt-get install ${packageHint(command)})`);
    }
    if (result.exitCode !== 0) {
      const stderr = result.stderr instanceof Uint8Array ? Buffer.from(result.stderr).toString('utf8') : String(result.stderr ?? '');
      throw new ProcessError(`${command} exited with code ${result.exitCode}: ${lastLine(stderr)}`, {
        stdout: '',
        stderr,
        exitCode: result.exitCode ?? 1,
      });
    }
  });
  return { stdin: child.stdin, stdout: child.stdout, done };
}

export interface ForegroundResult {
  exitCode: number;
  /** The signal this process got while the program ran (it was passed on). */
  interruptedBy?: NodeJS.Signals;
}

/**
 * Runs a program in the foreground (the terminal's input and output) and passes SIGTERM and
 * SIGHUP on to it (as `forwardAs` when given); SIGINT is not passed on, since Ctrl-C reaches the
 * whole process group already and a second one would cut the program's own cleanup short.
 * Resolves when it exits.
 */
export async function runForeground(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; forwardAs?: NodeJS.Signals } = {}): Promise<ForegroundResult> {
  log.debug(`run: ${[command, ...args].join(' ')}`);
  let interruptedBy: NodeJS.Signals | undefined;
  let child: ReturnType<Execa['execa']> | undefined;
  // Taken over before the program starts: a signal that arrives meanwhile is passed on as soon as
  // it runs, instead of ending this process and leaving the program orphaned.
  const onSignal = (signal: NodeJS.Signals) => {
    interruptedBy ??= signal;
    if (signal !== 'SIGINT') child?.kill(options.forwardAs ?? signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    const { execa } = await loadExeca();
    child = execa(command, args, { cwd: options.cwd, env: options.env, extendEnv: true, reject: false, stdio: 'inherit' });
    if (interruptedBy && interruptedBy !== 'SIGINT') child.kill(options.forwardAs ?? interruptedBy);
    const result = await child;
    if ((result as { code?: string }).code === 'ENOENT') throw new UserError(`'${command}' is not installed or not on PATH`);
    const killedBySignal = result.signal !== undefined && result.signal !== null;
    return { exitCode: result.exitCode ?? (killedBySignal ? INTERRUPTED_EXIT_CODE : 1), interruptedBy: interruptedBy ?? (killedBySignal ? (result.signal as NodeJS.Signals) : undefined) };
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}

export class ProcessError extends Error {
  constructor(
    message: string,
    readonly result: RunResult,
  ) {
    super(message);
    this.name = 'ProcessError';
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1]?.trim() ?? '';
}

export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The Debian package that usually provides a command, for install hints. */
function packageHint(command: string): string {
  const known: Record<string, string> = {
    'qemu-system-x86_64': 'qemu-system-x86',
    'qemu-system-aarch64': 'qemu-system-arm',
    dockerd: 'docker.io',
    docker: 'docker.io',
    'grub-mkstandalone': 'grub-efi-amd64-bin grub-common',
    mcopy: 'mtools',
    mkfs_vfat: 'dosfstools',
    'mkfs.vfat': 'dosfstools',
    'docker-registry': 'docker-registry',
    htpasswd: 'apache2-utils',
  };
  return known[command] ?? command;
}
