/**
 * The two names of an architecture: the kernel's (`uname -m`: x86_64, aarch64), used by
 * flavors, kernels and QEMU, and Docker's (amd64, arm64), used by images and dist/ folders and
 * also Debian's (apt, .deb names).
 * The one mapping between them, and the one for the machine Hook runs on.
 */
import { UserError } from '@hook/log';

export type Arch = 'x86_64' | 'aarch64';
export type DockerArch = 'amd64' | 'arm64';

export const ARCHES: readonly Arch[] = ['x86_64', 'aarch64'];
export const DOCKER_ARCHES: readonly DockerArch[] = ['amd64', 'arm64'];

export function dockerArchOf(arch: Arch): DockerArch {
  return arch === 'x86_64' ? 'amd64' : 'arm64';
}

export function kernelArchOf(arch: DockerArch): Arch {
  return arch === 'amd64' ? 'x86_64' : 'aarch64';
}

/** Either name (`amd64`, `x86_64`, `arm64`, `aarch64`) in Docker's terms, e.g. from DOCKER_ARCH. */
export function parseDockerArch(value: string | undefined): DockerArch {
  if (value === 'amd64' || value === 'x86_64') return 'amd64';
  if (value === 'arm64' || value === 'aarch64') return 'arm64';
  throw new UserError(`unsupported architecture ${JSON.stringify(value)}: use amd64 or arm64 (DOCKER_ARCH)`);
}

/** Node's `process.arch` in Docker's terms; undefined for a host Hook does not build on. */
export function dockerArchOfNode(nodeArch: string): DockerArch | undefined {
  if (nodeArch === 'x64') return 'amd64';
  if (nodeArch === 'arm64') return 'arm64';
  return undefined;
}

/** The machine running Hook, in Docker's terms. */
export function hostDockerArch(nodeArch: string = process.arch): DockerArch {
  const arch = dockerArchOfNode(nodeArch);
  if (!arch) throw new UserError(`Host architecture ${nodeArch} is not supported; Hook builds on amd64 or arm64 hosts`);
  return arch;
}

/** The machine running Hook, in the kernel's terms (what QEMU runs without emulation). */
export function hostKernelArch(nodeArch: string = process.arch): Arch | undefined {
  const arch = dockerArchOfNode(nodeArch);
  return arch && kernelArchOf(arch);
}
