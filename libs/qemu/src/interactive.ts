/**
 * `hook run <flavor>` (the CLI itself, and the qemu-run executor): boots a built flavor with
 * upstream's machine (UEFI, 2 CPUs, 2 GB, a 10 G scratch disk, user networking, the TINK_* and MAC
 * variables on the kernel command line) with its serial console on this terminal, as upstream's
 * `./build.sh run` does. Ctrl-A X quits QEMU, Ctrl-A C opens its monitor. NETBOOT=yes boots it
 * through iPXE with Smee's script instead (netboot.ts); FIRMWARE=bios uses SeaBIOS.
 *
 * The machine's writable files (the UEFI variable store, the sparse scratch disk) live in a
 * temporary directory that is removed when QEMU ends, also when this process is interrupted
 * (SIGINT, SIGTERM, SIGHUP): QEMU is stopped first, then the directory goes, then the run fails
 * with one line saying why.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError, log } from '@hook/log';
import { run } from '@hook/process';
import { chooseAccelerator } from './boot';
import { builtFlavorFiles } from './flavor-files';
import { upstreamRunOptions, type MachineOptions } from './command';
import { prepareMachine } from './machine';
import { NETBOOT_HTTP_ADDRESS, NETBOOT_SCRIPT_NAME, prepareNetboot, type Netboot } from './netboot';
import { describeDownload, type ServedRequest } from './netboot-server';
import { setting } from '@hook/settings';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** How long QEMU gets to exit after SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 3000;

export interface FlavorRunOptions {
  workspaceRoot: string;
  flavorId: string;
  env: NodeJS.ProcessEnv;
}

/** FIRMWARE=uefi (OVMF, upstream's `run`, the default) or bios (SeaBIOS). */
export type Firmware = 'uefi' | 'bios';

export function firmwareOf(env: NodeJS.ProcessEnv): Firmware {
  return setting(env, 'FIRMWARE');
}

/** NETBOOT=yes|no (default no), read here: a setting of `hook run` only, not of any build. */
export function netbootOf(env: NodeJS.ProcessEnv): boolean {
  return setting(env, 'NETBOOT');
}

/**
 * Boots the flavor's dist/hook/vmlinuz-<OUTPUT_ID> and initramfs-<OUTPUT_ID> interactively:
 * given to QEMU directly, or with NETBOOT=yes fetched by the NIC's iPXE with Smee's script
 * (console on the second serial port, as Smee's console=ttyS1 wants).
 */
export async function runFlavor(options: FlavorRunOptions): Promise<void> {
  const { flavor, kernel, initrd } = await builtFlavorFiles(options.workspaceRoot, options.flavorId);
  const uefi = firmwareOf(options.env) === 'uefi';
  if (!netbootOf(options.env)) {
    await runInteractive({ ...upstreamRunOptions({ arch: flavor.ARCH, kernel, initrd, netUser: true }, options.env), uefi }, options.env, flavor.id);
    return;
  }
  // Upstream's machine, without a kernel: the script gives the command line.
  const machine: MachineOptions = { arch: flavor.ARCH, uefi, cpus: 2, memoryMb: 2048, disk: { sizeGb: 10 } };
  await runInteractive(machine, options.env, `${flavor.id} (netboot: iPXE, Smee's script, ${uefi ? 'UEFI' : 'BIOS'})`, {
    consolePort: 1,
    async setup(workDir) {
      const netboot = await prepareNetboot({ arch: flavor.ARCH, kernel, initrd, env: options.env, workDir, mac: setting(options.env, 'MAC'), onRequest: (request) => reportDownload(request, netboot) });
      log.info(`iPXE gets ${NETBOOT_SCRIPT_NAME} from QEMU's TFTP, then ${netboot.kernelName} and ${netboot.initrdName} from ${netboot.server.url} (the guest's http://${NETBOOT_HTTP_ADDRESS}); the guest reaches nothing else`);
      log.info(`kernel command line: ${netboot.kernelParams}`);
      return { machine: netboot.machine, close: () => netboot.server.close() };
    },
  });
}

/** One line per file iPXE fetched, and the total once the kernel and initramfs are both there. */
function reportDownload(request: ServedRequest, netboot: Netboot | undefined): void {
  const line = `iPXE ${request.method} ${request.path}: ${request.status}, ${(request.bytes / 1e6).toFixed(1)} MB in ${request.seconds.toFixed(1)} s`;
  if (request.status !== 200) log.warn(line);
  else log.info(line);
  if (!netboot) return;
  const wanted = [`/${netboot.kernelName}`, `/${netboot.initrdName}`];
  const fetched = wanted.map((path) => netboot.server.requests.find((r) => r.path === path && r.status === 200));
  if (request.path === wanted[1] && fetched.every(Boolean)) {
    log.info(`iPXE downloaded the kernel and initramfs: ${describeDownload(fetched as ServedRequest[])}`);
  }
}

export interface InteractiveOptions {
  /** The serial port the console is on (1: ttyS1, Smee's console). */
  consolePort?: 0 | 1;
  /** Runs in the run's temporary directory before QEMU starts: more machine options, and what to close after. */
  setup?: (workDir: string) => Promise<{ machine: Partial<MachineOptions>; close(): Promise<void> }>;
}

/** Runs a machine with its serial console on this terminal until QEMU exits. */
export async function runInteractive(machine: MachineOptions, env: NodeJS.ProcessEnv, label: string, options: InteractiveOptions = {}): Promise<void> {
  const accel = await chooseAccelerator(machine.arch, env);
  const workDir = await mkdtemp(join(tmpdir(), 'hook-qemu-'));
  const pidFile = join(workDir, 'qemu.pid');
  let interrupted: NodeJS.Signals | undefined;
  let exited = false;
  let close: (() => Promise<void>) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = signal;
    void stopQemu(pidFile, () => exited);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  try {
    const setup = await options.setup?.(workDir);
    close = setup?.close;
    const full = { ...machine, ...setup?.machine, accel };
    const command = await prepareMachine(full, workDir, { serial: 'stdio', pidFile, consolePort: options.consolePort });
    const cpus = full.cpus ?? 2;
    const how = accel === 'tcg' ? `TCG emulation${cpus > 1 ? `, ${cpus} vCPUs on one thread` : ''}` : 'KVM';
    log.info(`Booting ${label} in QEMU (${how}); the serial console follows; quit with Ctrl-A X`);
    const result = await run(command.command, command.args, { inherit: true, allowFailure: true }).finally(() => {
      exited = true;
    });
    if (!interrupted && result.exitCode !== 0) throw new UserError(`QEMU exited with code ${result.exitCode} (its message is above)`);
  } finally {
    for (const signal of SIGNALS) process.off(signal, onSignal);
    await close?.();
    await rm(workDir, { recursive: true, force: true });
  }
  if (interrupted) throw new UserError(`${label}: QEMU stopped on ${interrupted}; its temporary files are removed`);
}

/** SIGTERM (QEMU exits cleanly on it), SIGKILL if it is still there after a grace period. */
async function stopQemu(pidFile: string, hasExited: () => boolean): Promise<void> {
  const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
  if (!(pid > 1)) return; // not started yet: it gets the same signal from the terminal, or ends with us
  signal(pid, 'SIGTERM');
  for (let waited = 0; waited < TERM_GRACE_MS && !hasExited(); waited += 100) await sleep(100);
  if (!hasExited()) signal(pid, 'SIGKILL');
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
