/**
 * `hook run <flavor>` (the qemu-run executor): boots a built flavor with upstream's machine
 * (UEFI, 2 CPUs, 2 GB, a 10 G scratch disk, user networking, the TINK_* and MAC variables on the
 * kernel command line) with its serial console on this terminal, as upstream's
 * `./build.sh run` does. Ctrl-A X quits QEMU, Ctrl-A C opens its monitor.
 *
 * The machine's writable files (the UEFI variable store, the sparse scratch disk) live in a
 * temporary directory that is removed when QEMU ends, also when this process is interrupted
 * (SIGINT, SIGTERM, SIGHUP): QEMU is stopped first, then the directory goes, then the run fails
 * with one line saying why.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFlavor, kernelOf, loadInventory, outputIdOf } from '@hook/inventory';
import { hookosFiles, inWorkspace } from '@hook/layout';
import { UserError, log } from '@hook/log';
import { run } from '@hook/process';
import { chooseAccelerator } from './boot';
import { upstreamRunOptions, type MachineOptions } from './command';
import { prepareMachine } from './machine';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** How long QEMU gets to exit after SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 3000;

export interface FlavorRunOptions {
  workspaceRoot: string;
  flavorId: string;
  env: NodeJS.ProcessEnv;
}

/** Boots the flavor's dist/hook/vmlinuz-<OUTPUT_ID> and initramfs-<OUTPUT_ID> interactively. */
export async function runFlavor(options: FlavorRunOptions): Promise<void> {
  const inventory = loadInventory(options.workspaceRoot);
  const flavor = findFlavor(inventory, options.flavorId);
  const files = hookosFiles(outputIdOf(flavor, kernelOf(inventory, flavor)));
  const kernel = inWorkspace(options.workspaceRoot, files.vmlinuz);
  const initrd = inWorkspace(options.workspaceRoot, files.initramfs);
  if (!existsSync(kernel) || !existsSync(initrd)) {
    throw new UserError(`${flavor.id} is not built (no ${files.vmlinuz} or ${files.initramfs}): run ./hook build ${flavor.id}`);
  }
  const machine = upstreamRunOptions({ arch: flavor.ARCH, kernel, initrd, netUser: true }, options.env);
  await runInteractive(machine, options.env, flavor.id);
}

/** Runs a machine with its serial console on this terminal until QEMU exits. */
export async function runInteractive(machine: MachineOptions, env: NodeJS.ProcessEnv, label: string): Promise<void> {
  const accel = await chooseAccelerator(machine.arch, env);
  const workDir = await mkdtemp(join(tmpdir(), 'hook-qemu-'));
  const pidFile = join(workDir, 'qemu.pid');
  let interrupted: NodeJS.Signals | undefined;
  let exited = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = signal;
    void stopQemu(pidFile, () => exited);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  try {
    const command = await prepareMachine({ ...machine, accel }, workDir, { serial: 'stdio', pidFile });
    log.info(`Booting ${label} in QEMU (${accel}); the serial console follows; quit with Ctrl-A X`);
    const result = await run(command.command, command.args, { inherit: true, allowFailure: true }).finally(() => {
      exited = true;
    });
    if (!interrupted && result.exitCode !== 0) throw new UserError(`QEMU exited with code ${result.exitCode} (its message is above)`);
  } finally {
    for (const signal of SIGNALS) process.off(signal, onSignal);
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
