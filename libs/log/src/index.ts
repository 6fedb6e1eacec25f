/**
 * Logging as upstream Hook does it: levels debug/info/notice/warn/error on stderr,
 * debug only with DEBUG=yes, GitHub Actions annotations for notice/warn/error when
 * GITHUB_ACTIONS is set. One logger for the CLI, the executors and the libraries.
 */
export { suggest } from './suggest';
export { UserError } from './errors';
export { yamlErrorLine } from './yaml-error';
import { UserError } from './errors';

export type LogLevel = 'debug' | 'info' | 'notice' | 'warn' | 'error';

const COLORS: Record<LogLevel, string> = {
  debug: '0;36',
  info: '0;32',
  notice: '1;32',
  warn: '1;33',
  error: '1;31',
};
const EMOJI: Record<LogLevel, string> = { debug: '🐛', info: '🌿', notice: '🌱', warn: '🚸', error: '🚨' };
const GHA_LEVEL: Partial<Record<LogLevel, string>> = { notice: 'notice', warn: 'warning', error: 'error' };

export interface LogSink {
  write(text: string): unknown;
}

export interface LoggerOptions {
  env?: NodeJS.ProcessEnv;
  sink?: LogSink;
  /** ANSI colours; default: when the sink is a TTY and NO_COLOR is unset. */
  color?: boolean;
}

export class Logger {
  private readonly env: NodeJS.ProcessEnv;
  private readonly sink: LogSink;
  private readonly color: boolean;

  constructor(options: LoggerOptions = {}) {
    this.env = options.env ?? process.env;
    this.sink = options.sink ?? process.stderr;
    const isTty = (this.sink as { isTTY?: boolean }).isTTY === true;
    this.color = options.color ?? (isTty && !this.env.NO_COLOR);
  }

  get debugEnabled(): boolean {
    return isDebug(this.env);
  }

  log(level: LogLevel, ...parts: unknown[]): void {
    if (level === 'debug' && !this.debugEnabled) return;
    const message = parts.map((p) => (typeof p === 'string' ? p : formatValue(p))).join(' ');
    const gha = GHA_LEVEL[level];
    if (this.env.GITHUB_ACTIONS && gha) {
      this.sink.write(`::${gha} ::${escapeAnnotation(message)}\n`);
    }
    const padded = level.padEnd(5);
    if (this.color) {
      const c = `\x1b[${COLORS[level]}m`;
      this.sink.write(`${EMOJI[level]} \x1b[0m[${c}${padded}\x1b[0m] ${c}${message}\x1b[0m\n`);
    } else {
      this.sink.write(`${EMOJI[level]} [${padded}] ${message}\n`);
    }
  }

  debug(...parts: unknown[]): void {
    this.log('debug', ...parts);
  }
  info(...parts: unknown[]): void {
    this.log('info', ...parts);
  }
  notice(...parts: unknown[]): void {
    this.log('notice', ...parts);
  }
  warn(...parts: unknown[]): void {
    this.log('warn', ...parts);
  }
  error(...parts: unknown[]): void {
    this.log('error', ...parts);
  }
}

export function isDebug(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.DEBUG === 'yes';
}

function formatValue(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** GitHub annotations end at a newline; encode the characters the runner treats specially. */
function escapeAnnotation(message: string): string {
  return message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** The process-wide logger. */
export const log = new Logger();

/**
 * Reports an error the way entry points must: one readable line, a stack only with DEBUG=yes.
 * Returns the exit code to use.
 */
export function reportError(error: unknown, logger: Logger = log): number {
  if (error instanceof UserError) {
    logger.error(error.message);
    if (logger.debugEnabled && error.stack) logger.debug(error.stack);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  logger.error(logger.debugEnabled ? message : `${message} (run with DEBUG=yes for details)`);
  if (logger.debugEnabled && error instanceof Error && error.stack) logger.debug(error.stack);
  return 1;
}

/**
 * Progress for long steps: prints a line at most every `intervalMs`, and a final line.
 * Works on CI logs (no carriage-return tricks).
 */
export class Progress {
  private last = 0;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly total?: number,
    private readonly logger: Logger = log,
    private readonly intervalMs = 5000,
  ) {}

  update(done: number, unit = 'bytes'): void {
    const now = Date.now();
    if (now - this.last < this.intervalMs) return;
    this.last = now;
    this.logger.info(`${this.label}: ${this.describe(done, unit)}`);
  }

  finish(done?: number, unit = 'bytes'): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    const amount = done === undefined ? '' : ` ${this.describe(done, unit)}`;
    this.logger.info(`${this.label}: done${amount} in ${seconds}s`);
  }

  private describe(done: number, unit: string): string {
    const fmt = unit === 'bytes' ? formatBytes : (n: number) => `${n} ${unit}`;
    if (this.total && this.total > 0) {
      return `${fmt(done)} of ${fmt(this.total)} (${Math.floor((done / this.total) * 100)}%)`;
    }
    return fmt(done);
  }
}

/** `12.3 MiB`; with `base` 1000, `12.3 MB` (the units `docker images` shows). */
export function formatBytes(bytes: number, base: 1024 | 1000 = 1024): string {
  const units = base === 1024 ? ['B', 'KiB', 'MiB', 'GiB', 'TiB'] : ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let i = 0;
  while (value >= base && i < units.length - 1) {
    value /= base;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`;
}
