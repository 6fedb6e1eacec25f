import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { UserError, log } from '@hook/log';
import { findFlavor, kernelOf, loadInventory, outputIdOf } from '@hook/inventory';
import { chooseAccelerator, prepareMachine, upstreamRunOptions } from '@hook/qemu';
import { run } from '@hook/process';
import { runStep } from '../run';

export interface QemuRunSchema {
  flavor: string;
}

/** Boots the built flavor in QEMU with upstream's machine (UEFI, 2 CPUs, 2 GB, scratch disk), interactively. */
export default async function qemuRunExecutor(options: QemuRunSchema, context: ExecutorContext) {
  return runStep(async () => {
    const inventory = loadInventory(context.root);
    const flavor = findFlavor(inventory, options.flavor);
    const outputId = outputIdOf(flavor, kernelOf(inventory, flavor));
    const kernel = join(context.root, 'dist', 'hook', `vmlinuz-${outputId}`);
    const initrd = join(context.root, 'dist', 'hook', `initramfs-${outputId}`);
    if (!existsSync(kernel) || !existsSync(initrd)) throw new UserError(`${flavor.id} is not built: run ./hook build ${flavor.id}`);
    const machine = upstreamRunOptions({ arch: flavor.ARCH, kernel, initrd, netUser: true }, process.env);
    const accel = await chooseAccelerator(flavor.ARCH, process.env);
    const workDir = await mkdtemp(join(tmpdir(), 'hook-qemu-'));
    try {
      const command = await prepareMachine({ ...machine, accel }, workDir, { serial: 'stdio' });
      log.info(`Booting ${flavor.id} in QEMU (${accel}); quit with Ctrl-A X`);
      await run(command.command, command.args, { inherit: true });
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });
}
