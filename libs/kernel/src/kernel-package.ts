/**
 * A prebuilt kernel in a `linux-image-*` .deb (Debian or Armbian), unpacked in TypeScript and
 * rearranged as Hook wants it: `boot/vmlinuz-*` -> kernel, modules (under usr/lib/modules on
 * merged-/usr systems) -> lib/modules for LinuxKit, System.map, dtbs.
 */
import { mkdir, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { exists, extractDebData } from '@hook/debian';

export interface UnpackedKernelPackage {
  release: string;
  image: string;
  systemMap?: string;
  /** Holds lib/modules/<release>. */
  modulesRoot: string;
  dtbsDir?: string;
  /** boot/config-<release>, the kernel's configuration, when the package has it. */
  config?: string;
}

export async function unpackKernelPackage(debPath: string, workDir: string): Promise<UnpackedKernelPackage> {
  const root = join(workDir, 'package');
  await mkdir(root, { recursive: true });
  await extractDebData(debPath, root);
  const boot = await readdir(join(root, 'boot')).catch(() => [] as string[]);
  const imageName = boot.find((n) => /^vmlinu[xz]-/.test(n));
  if (!imageName) throw new UserError(`${debPath} has no boot/vmlinuz-*: it is not a kernel image package`);
  const release = imageName.replace(/^vmlinu[xz]-/, '');

  const modulesRoot = join(workDir, 'modules');
  await mkdir(join(modulesRoot, 'lib', 'modules'), { recursive: true });
  for (const candidate of [join(root, 'usr', 'lib', 'modules', release), join(root, 'lib', 'modules', release)]) {
    if (await exists(candidate)) {
      await rename(candidate, join(modulesRoot, 'lib', 'modules', release));
      break;
    }
  }
  if (!(await exists(join(modulesRoot, 'lib', 'modules', release)))) {
    throw new UserError(`${debPath} has no modules for ${release} (lib/modules or usr/lib/modules)`);
  }
  const systemMap = join(root, 'boot', `System.map-${release}`);
  const config = join(root, 'boot', `config-${release}`);
  let dtbsDir: string | undefined;
  for (const candidate of [join(root, 'usr', 'lib', `linux-image-${release}`), join(root, 'boot', `dtb-${release}`)]) {
    if (await exists(candidate)) {
      dtbsDir = candidate;
      break;
    }
  }
  return {
    release,
    image: join(root, 'boot', imageName),
    systemMap: (await exists(systemMap)) ? systemMap : undefined,
    modulesRoot,
    dtbsDir,
    config: (await exists(config)) ? config : undefined,
  };
}

/** `6.12.117+deb13-amd64` -> `6.12.117`. */
export function versionOfRelease(release: string): string {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!match) throw new UserError(`cannot read a kernel version from release '${release}'`);
  return `${match[1]}.${match[2]}.${match[3] ?? 0}`;
}
