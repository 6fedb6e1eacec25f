/**
 * An interactive QEMU run for tests and benchmarks: the serial console on a unix socket (read
 * as it comes, typed into), the human monitor on another (power button, quit), the times at
 * which text first appeared, and a log file of everything the console printed. QEMU is always
 * stopped and the work directory removed by close().
 */
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '@hook/log';
import { run, type RunResult } from '@hook/process';
import { chooseAccelerator, readPid, signal } from './boot';
import { type Accelerator, type MachineOptions } from './command';
import { prepareMachine } from './machine';

export interface SessionOptions extends MachineOptions {
  accel?: Accelerator;
  /** A blank sparse virtio disk (the guest sees /dev/vda, and /dev/disk/by-id/virtio-<serial>). */
  virtioDisk?: { sizeMb: number; serial: string };
  /** Copy of everything the serial console printed (kept after close). */
  logFile?: string;
  /** Run QEMU through this command, e.g. ['ip', 'netns', 'exec', 'test-ns'] for a tap device there. */
  wrapper?: string[];
  /** Stop QEMU after this long whatever happens (default 15 minutes). */
  maxRunMs?: number;
  /** The serial port the console is on (1: ttyS1, as Smee's iPXE script sets it). */
  consolePort?: 0 | 1;
}

/** A wait that ran out: the message ends with the tail of the serial console. */
export class GuestTimeout extends Error {}

const SOCKET_WAIT_MS = 15000;
const TAIL_LINES = 60;

export class GuestSession {
  private text = '';
  /** [seconds since start, length of text at that time], one per chunk received. */
  private readonly arrivals: Array<[number, number]> = [];
  private exited = false;
  private exitResult: RunResult | undefined;
  private commandCount = 0;

  private constructor(
    private readonly work: string,
    private readonly qemu: Promise<RunResult>,
    private readonly serial: Socket,
    private readonly monitorSocket: string,
    private readonly pidFile: string,
    private readonly logStream: WriteStream | undefined,
    readonly startedAt: number,
    readonly accel: Accelerator,
  ) {
    serial.setEncoding('utf8');
    serial.on('data', (chunk: string) => {
      this.text += chunk.replace(/\r/g, '');
      this.arrivals.push([(Date.now() - startedAt) / 1000, this.text.length]);
      logStream?.write(chunk);
    });
    serial.on('error', () => undefined); // QEMU going away closes the socket
    void qemu.then((result) => {
      this.exited = true;
      this.exitResult = result;
    });
  }

  static async start(options: SessionOptions): Promise<GuestSession> {
    const accel = options.accel ?? (await chooseAccelerator(options.arch));
    const work = await mkdtemp(join(tmpdir(), 'hook-qemu-session-'));
    try {
      const extraArgs = [...(options.extraArgs ?? [])];
      if (options.virtioDisk) {
        const disk = join(work, 'virtio-disk.raw');
        const handle = await open(disk, 'w');
        await handle.truncate(options.virtioDisk.sizeMb * 1024 * 1024).finally(() => handle.close());
        extraArgs.push('-drive', `if=none,id=disk0,format=raw,file=${disk}`, '-device', `virtio-blk-pci,drive=disk0,serial=${options.virtioDisk.serial}`);
      }
      const socket = join(work, 'serial.sock');
      const monitorSocket = join(work, 'monitor.sock');
      const pidFile = join(work, 'qemu.pid');
      const machine = await prepareMachine({ ...options, extraArgs, accel }, work, { serial: { socket, monitorSocket }, pidFile, consolePort: options.consolePort });
      const wrapper = options.wrapper ?? [];
      const [command, ...args] = [...wrapper, machine.command, ...machine.args];
      log.info(`booting ${options.arch} in QEMU (${accel.toUpperCase()})${options.logFile ? `, console log ${options.logFile}` : ''}`);
      const startedAt = Date.now();
      const qemu = run(command, args, { allowFailure: true, timeoutMs: options.maxRunMs ?? 15 * 60 * 1000 });
      let exited = false;
      void qemu.then(() => (exited = true));
      // QEMU creates the socket, then waits for us before it starts the guest: nothing is lost.
      // The file appears when QEMU binds it, a moment before it listens: a connection refused
      // in between (seen on a loaded machine) is tried again.
      const serial = await connectWhenListening(socket, () => exited || Date.now() - startedAt > SOCKET_WAIT_MS);
      if (!serial) {
        const result = await Promise.race([qemu, sleep(3000).then(() => undefined)]);
        throw new Error(`QEMU did not start: ${result?.stderr.trim().split('\n').pop() ?? 'its serial socket did not answer within 15 s'}`);
      }
      const logStream = options.logFile ? createWriteStream(options.logFile) : undefined;
      return new GuestSession(work, qemu, serial, monitorSocket, pidFile, logStream, startedAt, accel);
    } catch (error) {
      await rm(work, { recursive: true, force: true });
      throw error;
    }
  }

  /** Everything the console printed so far (carriage returns removed). */
  get output(): string {
    return this.text;
  }

  /** Where the console output is now: waits can start looking from here. */
  mark(): number {
    return this.text.length;
  }

  get hasExited(): boolean {
    return this.exited;
  }

  /** Seconds from QEMU's start to the moment the text at `index` arrived. */
  secondsAt(index: number): number | undefined {
    return this.arrivals.find(([, length]) => length > index)?.[0];
  }

  /** Waits until `pattern` appears after `from`; returns the match. Throws GuestTimeout with the console's tail. */
  async waitFor(pattern: string | RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    const regex = typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = regex.exec(this.text.slice(from));
      if (match) {
        match.index += from;
        return match;
      }
      if (this.exited) throw new GuestTimeout(`QEMU exited before ${String(pattern)} appeared\n${this.tail()}`);
      if (Date.now() > deadline) throw new GuestTimeout(`${String(pattern)} did not appear within ${Math.round(timeoutMs / 1000)} s\n${this.tail()}`);
      await sleep(100, undefined, { ref: false });
    }
  }

  /** Types on the serial console. */
  type(text: string): void {
    this.serial.write(text);
  }

  /**
   * Runs a shell command at the console's shell prompt and returns what it printed and its
   * exit status. The markers are computed by the shell ($((n))), so the echo of the typed
   * line never matches them.
   */
  async shell(command: string, timeoutMs = 30000): Promise<{ output: string; status: number }> {
    const n = ++this.commandCount;
    const from = this.mark();
    this.type(`echo __HOOK_B$((${n}))__; ${command}; echo __HOOK_E$((${n}))__ $?\n`);
    const match = await this.waitFor(new RegExp(`__HOOK_B${n}__\\n([\\s\\S]*?)__HOOK_E${n}__ (\\d+)`), timeoutMs, from);
    return { output: match[1], status: Number(match[2]) };
  }

  /** A QEMU human monitor command (e.g. system_powerdown); returns its reply. */
  async monitor(command: string): Promise<string> {
    const socket = await connectSocket(this.monitorSocket);
    try {
      let reply = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (reply += chunk));
      const prompts = () => (reply.match(/\(qemu\)/g) ?? []).length;
      const deadline = Date.now() + 10000;
      while (prompts() < 1 && Date.now() < deadline) await sleep(20);
      socket.write(`${command}\n`);
      while (prompts() < 2 && !this.exited && Date.now() < deadline) await sleep(20);
      return reply;
    } finally {
      socket.destroy();
    }
  }

  /** Waits for QEMU to exit by itself (poweroff, -no-reboot); returns seconds waited. */
  async waitForExit(timeoutMs: number): Promise<number> {
    const started = Date.now();
    const done = await Promise.race([this.qemu.then(() => true), sleep(timeoutMs, false, { ref: false })]);
    if (!done) throw new GuestTimeout(`QEMU was still running after ${Math.round(timeoutMs / 1000)} s\n${this.tail()}`);
    return (Date.now() - started) / 1000;
  }

  /** The last lines of the console, for error messages. */
  tail(lines = TAIL_LINES): string {
    return `--- last ${lines} lines of the serial console ---\n${this.text.split('\n').slice(-lines).join('\n')}`;
  }

  /** Stops QEMU (SIGTERM, then SIGKILL) and removes the work directory. */
  async close(): Promise<RunResult | undefined> {
    try {
      if (!this.exited) {
        const pid = await readPid(this.pidFile);
        if (pid) signal(pid, 'SIGTERM');
        const gone = await Promise.race([this.qemu.then(() => true), sleep(3000, false, { ref: false })]);
        if (!gone && pid) signal(pid, 'SIGKILL');
      }
      return await this.qemu;
    } finally {
      this.serial.destroy();
      await new Promise<void>((resolve) => (this.logStream ? this.logStream.end(resolve) : resolve()));
      await rm(this.work, { recursive: true, force: true });
    }
  }

  /** QEMU's result once it has exited. */
  get result(): RunResult | undefined {
    return this.exitResult;
  }
}

/**
 * Connects to the unix socket at `path` once something listens there; undefined when `giveUp()`
 * says so first. A server binds its socket (the file appears) a moment before it listens, and a
 * connection in between is refused: that is tried again.
 */
export async function connectWhenListening(path: string, giveUp: () => boolean): Promise<Socket | undefined> {
  while (!giveUp()) {
    if (existsSync(path)) {
      const socket = await connectSocket(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ECONNREFUSED' && error.code !== 'ENOENT') throw error;
        return undefined;
      });
      if (socket) return socket;
    }
    await sleep(50);
  }
  return undefined;
}

function connectSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
