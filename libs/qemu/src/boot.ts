import { constants } from 'node:fs';
import { access, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostKernelArch } from '@hook/layout';
import { UserError, log } from '@hook/log';
import { run, type RunResult } from '@hook/process';
import { type Accelerator, type MachineOptions, type QemuArch } from './command';
import { prepareMachine } from './machine';
import { setting } from '@hook/settings';

export interface BootOptions extends MachineOptions {
  /** Text or pattern on the serial console that means the boot succeeded. */
  marker: string | RegExp;
  /** Give up (and stop QEMU) after this long. */
  timeoutMs: number;
  /** Default: chooseAccelerator() (HOOK_QEMU_ACCEL, else a KVM probe, else TCG). */
  accel?: Accelerator;
}

export interface BootResult {
  found: boolean;
  serialLog: string;
  /** Wall time from starting QEMU to the marker (or to giving up). */
  seconds: number;
  accel: Accelerator;
  /** QEMU's process id; the process has exited when bootAndWait returns. */
  pid?: number;
}

const POLL_MS = 200;
/** How long QEMU gets to exit after SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 3000;
/** Last resort if QEMU never wrote its pid file: the process runner kills it. */
const BACKSTOP_MS = 10000;

/**
 * Boots a machine with the serial console in a file, waits for `marker` on it, then stops
 * QEMU. Returns found=false when the time runs out or the machine stops first. QEMU is always
 * gone when this returns; it throws only when QEMU itself fails (bad arguments, missing files).
 */
export async function bootAndWait(options: BootOptions): Promise<BootResult> {
  if (!(options.timeoutMs > 0)) throw new UserError(`timeoutMs must be positive, got ${options.timeoutMs}`);
  const accel = options.accel ?? (await chooseAccelerator(options.arch));
  const work = await mkdtemp(join(tmpdir(), 'hook-qemu-'));
  try {
    const serialFile = join(work, 'serial.log');
    const pidFile = join(work, 'qemu.pid');
    const machine = await prepareMachine({ ...options, accel }, work, { serial: { file: serialFile }, pidFile });
    log.info(`booting ${options.arch} in QEMU (${accel.toUpperCase()}), waiting up to ${Math.round(options.timeoutMs / 1000)} s for ${String(options.marker)}`);
    const started = Date.now();
    let exited = false;
    // -no-reboot: a guest that panics and reboots ends the run instead of looping.
    const qemu = run(machine.command, [...machine.args, '-no-reboot'], {
      allowFailure: true,
      timeoutMs: options.timeoutMs + BACKSTOP_MS,
    }).finally(() => {
      exited = true;
    });

    const serial = new SerialFollower(serialFile);
    let found = false;
    while (!exited && Date.now() - started < options.timeoutMs) {
      if (matches(await serial.read(), options.marker)) {
        found = true;
        break;
      }
      await Promise.race([sleep(POLL_MS, undefined, { ref: false }), qemu]);
    }
    const seconds = (Date.now() - started) / 1000;
    const pid = await readPid(pidFile);
    const stoppedByUs = !exited;
    if (stoppedByUs) await stop(pid, qemu, () => exited);
    const result: RunResult = await qemu;
    const serialLog = await serial.read();
    found ||= matches(serialLog, options.marker);
    if (!found && !stoppedByUs && result.exitCode !== 0) {
      const reason = result.stderr.trim().split('\n').pop() || `exit code ${result.exitCode}`;
      throw new Error(`QEMU failed: ${reason}`);
    }
    log.info(found ? `marker seen after ${seconds.toFixed(1)} s` : `no marker after ${seconds.toFixed(1)} s`);
    return { found, serialLog, seconds, accel, pid };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function matches(text: string, marker: string | RegExp): boolean {
  return typeof marker === 'string' ? text.includes(marker) : new RegExp(marker.source, marker.flags.replace(/[gy]/g, '')).test(text);
}

/** SIGTERM (QEMU exits cleanly on it), then SIGKILL if it is still there after a grace period. */
async function stop(pid: number | undefined, qemu: Promise<unknown>, hasExited: () => boolean): Promise<void> {
  if (pid === undefined) return; // the runner's backstop timeout ends it
  signal(pid, 'SIGTERM');
  // Unreferenced timers: a finished run must not keep the process (or Jest) waiting.
  await Promise.race([qemu, sleep(TERM_GRACE_MS, undefined, { ref: false })]);
  if (!hasExited()) signal(pid, 'SIGKILL');
}

/** Sends a signal to a process that may be gone already. */
export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** QEMU's -pidfile, once it has written it. */
export async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(pidFile, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Reads what QEMU appended to the serial log since the last call, keeping the whole text. */
class SerialFollower {
  private offset = 0;
  private text = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly path: string) {}

  async read(): Promise<string> {
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch {
      return this.text; // QEMU has not created it yet
    }
    try {
      const buffer = Buffer.alloc(256 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        this.text += this.decoder.write(buffer.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
    return this.text;
  }
}

/** Accelerator probing: KVM only when it demonstrably runs a guest. */
const probes = new Map<QemuArch, Promise<Accelerator>>();
const PROBE_TIMEOUT_MS = 8000;

/**
 * HOOK_QEMU_ACCEL=tcg|kvm decides; otherwise (auto) KVM when the guest has the host's
 * architecture, an x86 CPU says it can virtualize (vmx or svm in /proc/cpuinfo: without them
 * KVM cannot run a guest, whatever /dev/kvm says), /dev/kvm is usable and a probe boot of the
 * UEFI firmware prints on the serial console within 8 s, else TCG. The device node alone proves
 * nothing: on some hosts a KVM guest hangs or stops with an internal error. The probe result is
 * cached for the process; the CPU flags make the answer immediate on hosts without them.
 */
export async function chooseAccelerator(arch: QemuArch, env: NodeJS.ProcessEnv = process.env): Promise<Accelerator> {
  const wanted = setting(env, 'HOOK_QEMU_ACCEL');
  if (wanted === 'tcg' || wanted === 'kvm') return wanted;
  if (hostKernelArch() !== arch) return 'tcg';
  if (arch === 'x86_64' && !(await cpuCanVirtualize())) {
    log.info('this CPU has no virtualization extensions (no vmx or svm in /proc/cpuinfo): QEMU uses TCG emulation (slow); HOOK_QEMU_ACCEL=kvm forces KVM');
    return 'tcg';
  }
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    log.info('no usable /dev/kvm: QEMU uses TCG emulation (slow)');
    return 'tcg';
  }
  let probe = probes.get(arch);
  if (!probe) {
    probe = probeKvm(arch).then((works) => {
      if (works) return 'kvm';
      log.warn('/dev/kvm is there but a KVM guest does not run: using TCG emulation (slow); HOOK_QEMU_ACCEL=kvm forces KVM');
      return 'tcg';
    });
    probes.set(arch, probe);
  }
  return probe;
}

/** True when /proc/cpuinfo's flags include vmx (Intel VT-x) or svm (AMD-V); true if it cannot be read. */
export async function cpuCanVirtualize(cpuinfo = '/proc/cpuinfo'): Promise<boolean> {
  const text = await readFile(cpuinfo, 'utf8').catch(() => undefined);
  if (text === undefined) return true; // unknown: let the probe decide
  return /^flags\s*:.*\b(vmx|svm)\b/m.test(text);
}

/** Boots only the UEFI firmware under KVM: any serial output within the time means KVM runs guests. */
export async function probeKvm(arch: QemuArch): Promise<boolean> {
  try {
    const result = await bootAndWait({ arch, uefi: true, accel: 'kvm', memoryMb: 256, cpus: 1, marker: /[\s\S]/, timeoutMs: PROBE_TIMEOUT_MS });
    return result.found;
  } catch (error) {
    if (error instanceof UserError) {
      log.info(`cannot probe KVM (${error.message})`);
      return false;
    }
    log.info(`KVM probe: ${(error as Error).message}`);
    return false;
  }
}
