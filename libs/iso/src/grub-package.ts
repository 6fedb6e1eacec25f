import { join } from 'node:path';
import { hasCommand, run } from '@hook/process';
import { downloadedGrubPackage } from './grub-modules';

export interface GrubPackage {
  name: string;
  version: string;
  architecture: string;
}

/** The Debian package GRUB's modules come from (the host's installed one or a downloaded one), for a medium's SBOM. */
export async function grubPackageOf(modulesDir: string): Promise<GrubPackage | undefined> {
  return (await installedGrubPackage(modulesDir)) ?? (await downloadedGrubPackage(modulesDir));
}

/** dpkg's record of the installed package that holds `modulesDir`, if any. */
async function installedGrubPackage(modulesDir: string): Promise<GrubPackage | undefined> {
  if (!(await hasCommand('dpkg-query'))) return undefined;
  const owner = await run('dpkg-query', ['-S', join(modulesDir, 'linux.mod')], { allowFailure: true });
  const name = owner.exitCode === 0 ? /^([^:,\s]+)/.exec(owner.stdout)?.[1] : undefined;
  if (!name) return undefined;
  const shown = await run('dpkg-query', ['-W', '-f', '${Version}\\t${Architecture}', name], { allowFailure: true });
  const [version, architecture] = shown.stdout.trim().split('\t');
  return shown.exitCode === 0 && version && architecture ? { name, version, architecture } : undefined;
}
