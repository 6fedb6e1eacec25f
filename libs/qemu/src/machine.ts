import { existsSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { hasCommand } from '@hook/process';
import { archProfile, qemuCommandLine, usesUefi, type Accelerator, type MachineFiles, type MachineOptions, type QemuCommand } from './command';

/**
 * Checks that QEMU, the firmware and the boot files are there, creates the machine's writable
 * files in `workDir` (a copy of the UEFI variable store, a sparse scratch disk) and returns the
 * command line. `workDir` belongs to the caller, who deletes it after the run.
 */
export async function prepareMachine(
  options: MachineOptions & { accel: Accelerator },
  workDir: string,
  io: Pick<MachineFiles, 'serial' | 'pidFile' | 'consolePort'>,
): Promise<QemuCommand> {
  const profile = archProfile(options.arch);
  if (!(await hasCommand(profile.binary))) {
    throw new UserError(`'${profile.binary}' is not installed; install it (Debian: apt-get install ${profile.debianPackage})`);
  }
  for (const [what, path] of [['kernel', options.kernel], ['initrd', options.initrd], ['ISO', options.iso], ['firmware (bios)', options.bios], ['boot disk', options.bootDisk]] as const) {
    if (path !== undefined && !existsSync(path)) throw new UserError(`${what} not found: ${path}`);
  }
  const files: MachineFiles = { ...io };
  if (usesUefi(options)) {
    if (!existsSync(profile.firmwareCode) || !existsSync(profile.firmwareVars)) {
      throw new UserError(`UEFI firmware ${profile.firmwareCode} not found; install it (Debian: apt-get install ${profile.firmwarePackage})`);
    }
    // The code is mapped read-only; the variable store is written by the firmware, so each
    // run gets its own copy.
    files.uefiVars = join(workDir, 'uefi-vars.fd');
    await copyFile(profile.firmwareVars, files.uefiVars);
  }
  if (options.disk) {
    files.disk = join(workDir, 'scratch-disk.raw');
    const handle = await open(files.disk, 'w');
    try {
      await handle.truncate(Math.round(options.disk.sizeGb * 1024 ** 3)); // sparse: no space used until written
    } finally {
      await handle.close();
    }
  }
  return qemuCommandLine(options, files);
}
