/**
 * GRUB's EFI modules for an architecture: the host's Debian package when it is installed, else
 * Debian's package of that architecture downloaded from the host's mirror and unpacked
 * (grub-efi-arm64-bin cannot be installed on an amd64 host). The version is the one of the
 * host's grub-mkimage, because grub-mkimage and the modules it links must come from the same
 * GRUB release.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostDebianSuite, unpackedPackage, unpackedPackageOf } from '@hook/debian';
import { UserError, log } from '@hook/log';
import { hasCommand, run } from '@hook/process';
import { grubTarget, type GrubArch } from './grub-image';
import { setting } from '@hook/settings';

/** Debian's architecture of each GRUB EFI platform's package. */
const DEBIAN_ARCH: Record<GrubArch, string> = { x86_64: 'amd64', aarch64: 'arm64' };

export interface GrubModulesRequest {
  arch: GrubArch;
  /** Where downloaded packages are kept (e.g. `<CACHE_DIR>/debian`). */
  cacheDir: string;
  env?: NodeJS.ProcessEnv;
  /** Where the host's own package puts its modules (tests point elsewhere). */
  installedRoot?: string;
}

/**
 * The folder of GRUB's `<format>` modules: the installed `/usr/lib/grub/<format>`, or the same
 * folder of the downloaded package. HOOK_GRUB_MODULES_DIR overrides both.
 */
export async function grubModulesDir(request: GrubModulesRequest): Promise<string> {
  const env = request.env ?? process.env;
  const platform = { ...grubTarget(request.arch), debArch: DEBIAN_ARCH[request.arch] };
  const given = setting(env, 'HOOK_GRUB_MODULES_DIR');
  if (given) {
    if (!existsSync(join(given, 'linux.mod'))) throw new UserError(`HOOK_GRUB_MODULES_DIR=${given} holds no GRUB modules (no linux.mod); point it at a usr/lib/grub/${platform.format} folder`);
    return given;
  }
  const installed = join(request.installedRoot ?? '/usr/lib/grub', platform.format);
  if (existsSync(join(installed, 'linux.mod'))) return installed;

  const version = await grubMkimageVersion();
  const suite = setting(env, 'HOOK_GRUB_DEBIAN_SUITE') ?? hostDebianSuite();
  if (!suite) throw new UserError(`GRUB ${platform.format} modules: this host names no Debian suite in /etc/os-release; set HOOK_GRUB_DEBIAN_SUITE (e.g. bookworm) or install ${platform.debianPackage}`);
  log.info(`GRUB ${platform.format} modules are not installed here: using Debian's ${platform.debianPackage} ${version} (${suite}, ${platform.debArch})`);
  const pkg = await unpackedPackage({
    cacheDir: request.cacheDir,
    suite,
    debArch: platform.debArch,
    name: platform.debianPackage,
    version,
    keep: [`usr/lib/grub/${platform.format}/`],
    env,
  }).catch((error: unknown) => {
    if (error instanceof UserError) {
      throw new UserError(`GRUB ${platform.format} modules ${version} (the host's grub-mkimage version) cannot be had from suite ${suite}: ${error.message.replace(/^apt could not download /, '')}; upgrade grub-common, or set HOOK_GRUB_MODULES_DIR`);
    }
    throw error;
  });
  const dir = join(pkg.dir, 'usr/lib/grub', platform.format);
  if (!existsSync(join(dir, 'linux.mod'))) throw new UserError(`${platform.debianPackage} ${version} has no ${platform.format}/linux.mod; set HOOK_GRUB_MODULES_DIR`);
  return dir;
}

/** The Debian version of the host's grub-mkimage (`grub-mkimage (GRUB) 2.06-13+deb12u2`). */
export async function grubMkimageVersion(): Promise<string> {
  if (!(await hasCommand('grub-mkimage'))) throw new UserError("'grub-mkimage' is needed to build the ISO; install it (Debian: apt-get install grub-common)");
  const { stdout } = await run('grub-mkimage', ['--version']);
  const version = /\(GRUB\)\s+(\S+)/.exec(stdout)?.[1];
  if (!version) throw new UserError(`cannot read the version of grub-mkimage ('${stdout.trim()}'); set HOOK_GRUB_MODULES_DIR to a usr/lib/grub/<platform> folder of the same GRUB release`);
  return version;
}

/** The Debian package of modules unpacked by grubModulesDir (undefined for the host's own). */
export async function downloadedGrubPackage(modulesDir: string): Promise<{ name: string; version: string; architecture: string } | undefined> {
  const pkg = await unpackedPackageOf(modulesDir);
  return pkg ? { name: pkg.name, version: pkg.version, architecture: pkg.architecture } : undefined;
}
