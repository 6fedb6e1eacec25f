import type { Descriptor, Platform } from './types';

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  i686: '386',
};

/** Canonical OCI names: x86_64 -> amd64, aarch64 -> arm64, arm64/v8 -> arm64. */
export function normalizePlatform(platform: Platform): Platform {
  const os = platform.os.toLowerCase();
  const architecture = ARCH_ALIASES[platform.architecture.toLowerCase()] ?? platform.architecture.toLowerCase();
  let variant = platform.variant?.toLowerCase() || undefined;
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(platform: Platform): string {
  const p = normalizePlatform(platform);
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The platform this process runs on, in OCI names. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: process.platform === 'win32' ? 'windows' : process.platform, architecture: arch[process.arch] ?? process.arch };
}

/**
 * True when an image built for `candidate` serves `wanted`. A wanted variant must match; when
 * none is wanted any variant does.
 */
export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  const c = normalizePlatform(candidate);
  const w = normalizePlatform(wanted);
  if (c.os !== w.os || c.architecture !== w.architecture) return false;
  return !w.variant || c.variant === w.variant;
}

/** BuildKit attaches attestation manifests (platform unknown/unknown) to indexes; they are not images. */
export function isAttestation(desc: Descriptor): boolean {
  return desc.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || desc.platform?.os === 'unknown';
}

/** Picks the manifest for a platform out of an index's entries; exact variant first. */
export function selectPlatform(manifests: Descriptor[], wanted: Platform): Descriptor | undefined {
  const images = manifests.filter((m) => !isAttestation(m) && m.platform);
  const w = normalizePlatform(wanted);
  const exact = images.find((m) => {
    const c = normalizePlatform(m.platform!);
    return c.os === w.os && c.architecture === w.architecture && c.variant === w.variant;
  });
  return exact ?? images.find((m) => platformMatches(m.platform!, wanted));
}
