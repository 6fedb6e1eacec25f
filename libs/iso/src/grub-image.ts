/**
 * GRUB's EFI image (BOOTX64.EFI / BOOTAA64.EFI), shared by the ISO and the bootable disk
 * images: a plain grub-mkimage with every module it needs built in and a small embedded
 * config that finds the medium by a marker file. Not grub-mkstandalone: its memdisk tar
 * carries build-time timestamps, so it is not reproducible.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { hasCommand, run } from '@hook/process';

export type GrubArch = 'x86_64' | 'aarch64';

export interface GrubTarget {
  /** grub-mkimage's -O. */
  format: string;
  /** The removable-media boot file name under EFI/BOOT. */
  bootFile: string;
  debianPackage: string;
}

export const GRUB_TARGETS: Record<GrubArch, GrubTarget> = {
  x86_64: { format: 'x86_64-efi', bootFile: 'BOOTX64.EFI', debianPackage: 'grub-efi-amd64-bin' },
  aarch64: { format: 'arm64-efi', bootFile: 'BOOTAA64.EFI', debianPackage: 'grub-efi-arm64-bin' },
};

/** Built into every image; a medium adds its file system's modules (iso9660, or part_gpt + fat). */
const BASE_MODULES = ['search', 'search_fs_file', 'configfile', 'normal', 'linux', 'echo', 'test'];
/** Built in when the module folder has them; they help someone at the GRUB shell. */
const OPTIONAL_MODULES = ['part_gpt', 'part_msdos', 'fat', 'gzio', 'ls', 'cat', 'halt', 'reboot', 'efi_gop', 'all_video'];

export function grubTarget(arch: GrubArch): GrubTarget {
  const target = GRUB_TARGETS[arch];
  if (!target) throw new UserError(`unsupported GRUB EFI architecture '${arch}'; use x86_64 or aarch64`);
  return target;
}

/**
 * GRUB's embedded config: find the file system that holds `markerFile`, then read `configFile`
 * there. Setting `prefix` to the medium instead makes GRUB look for its modules there and stop.
 */
export function markerGrubConfig(markerFile: string, configFile: string, what: string): string {
  return [
    `search --no-floppy --set=root --file ${markerFile}`,
    `if [ -z "$root" ]; then echo "HookOS: cannot find ${what}"; fi`,
    `configfile ($root)${configFile}`,
    '',
  ].join('\n');
}

export interface GrubImageOptions {
  arch: GrubArch;
  /** GRUB's module folder for the arch (/usr/lib/grub/<format>, or grubModulesDir()). */
  modulesDir: string;
  /** The embedded config (markerGrubConfig). */
  embeddedConfig: string;
  /** Modules the medium cannot boot without, besides the base ones. */
  modules: string[];
  /** The EFI image to write; `<output>.cfg` is written beside it as a scratch file. */
  output: string;
  env?: NodeJS.ProcessEnv;
}

/** Checks grub-mkimage and the module folder; one line naming the Debian package when missing. */
export async function checkGrubTools(arch: GrubArch, modulesDir: string): Promise<void> {
  const target = grubTarget(arch);
  if (!(await hasCommand('grub-mkimage'))) throw new UserError("'grub-mkimage' is needed for GRUB's EFI image; install it (Debian: apt-get install grub-common)");
  if (!existsSync(join(modulesDir, 'linux.mod'))) {
    throw new UserError(
      `GRUB ${target.format} modules not found in ${modulesDir}; install them (Debian: apt-get install ${target.debianPackage}` +
        (target.format === 'arm64-efi' ? '; on other hosts extract its .deb and pass its usr/lib/grub/arm64-efi as grubModulesDir)' : ')'),
    );
  }
}

/** Writes GRUB's EFI image; the same inputs give the same bytes. */
export async function makeGrubEfiImage(options: GrubImageOptions): Promise<void> {
  const target = grubTarget(options.arch);
  await checkGrubTools(options.arch, options.modulesDir);
  const embedded = `${options.output}.cfg`;
  await writeFile(embedded, options.embeddedConfig);
  const wanted = [...new Set([...options.modules, ...BASE_MODULES])];
  for (const module of wanted) {
    if (!existsSync(join(options.modulesDir, `${module}.mod`))) throw new UserError(`GRUB module ${module} is missing from ${options.modulesDir}; reinstall ${target.debianPackage}`);
  }
  const optional = OPTIONAL_MODULES.filter((m) => !wanted.includes(m) && existsSync(join(options.modulesDir, `${m}.mod`)));
  await run('grub-mkimage', ['-d', options.modulesDir, '-O', target.format, '-o', options.output, '-p', '/EFI/BOOT', '-c', embedded, ...wanted, ...optional], { env: options.env });
}
