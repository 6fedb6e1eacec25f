/**
 * Where every target writes under dist/, with upstream's file names. Paths are relative to the
 * workspace root with `/` separators: the Nx plugin prefixes them with `{workspaceRoot}/` for a
 * target's outputs, the libraries join them onto the workspace root (`inWorkspace`).
 */
import { join } from 'node:path';
import { cacheDir } from './defaults';
import type { DockerArch } from './arch';

export const DIST_DIR = 'dist';

/** `dist/kernels/<kernel id>/`: what a kernel target writes (KERNEL_FILES). */
export function kernelDir(kernelId: string): string {
  return `${DIST_DIR}/kernels/${kernelId}`;
}

/** The files of a kernel's directory. */
export const KERNEL_FILES = {
  /** bzImage or Image. */
  image: 'kernel',
  /** lib/modules/<release>/..., as LinuxKit's kernel images carry them. */
  modules: 'kernel.tar',
  systemMap: 'System.map',
  /** Device trees (an empty archive on x86_64). */
  dtbs: 'dtbs.tar.gz',
  /** KernelMetadata (kernel-json.ts). */
  metadata: 'kernel.json',
  /** The kernel's software bill of materials (CycloneDX JSON, @hook/sbom). */
  sbom: 'sbom.cdx.json',
  /** Which bus IDs the modules claim, kept or dropped, with their firmware (@hook/hardware). */
  hardware: 'hardware.json',
} as const;

/** An image's software bill of materials, beside its image.json (CycloneDX JSON, @hook/sbom). */
export const IMAGE_SBOM_FILE = 'sbom.cdx.json';

/** `dist/images/<name>/<arch>/`: an image's OCI layout plus image.json (image-json.ts). */
export function imageDir(name: string, arch: DockerArch): string {
  return `${DIST_DIR}/images/${name}/${arch}`;
}

/** `dist/hook/`: HookOS, named as upstream names it. */
export const HOOKOS_DIR = `${DIST_DIR}/hook`;

/** Every file a flavor's targets can write, for one OUTPUT_ID. */
export interface HookosFiles {
  vmlinuz: string;
  initramfs: string;
  /** arm64 only (kernels with device trees). */
  dtbs: string;
  /** The release tarball: vmlinuz, initramfs and dtbs at its root. */
  releaseTarball: string;
  /** The initramfs's size report (markdown). */
  sizeReport: string;
  /** The software bill of materials (CycloneDX JSON, @hook/sbom); also in the release tarball. */
  sbom: string;
  /** The kernel's hardware index (@hook/hardware), read by `hook hardware`, and its report (markdown). */
  hardware: string;
  hardwareReport: string;
  /** Sizes, hardware and SBOM on one static page (offline). */
  reportPage: string;
  /** OUTPUT_TARBALL_FILELIST=yes: the root filesystem as a tar, and its file list. */
  rootfsTar: string;
  rootfsFileList: string;
  /** The EFI ISO (the `iso` target). */
  iso: string;
  /** The ISO's software bill of materials: GRUB, the files on the ISO, a link to `sbom`. */
  isoSbom: string;
  /** sha256sum lines of the build target's other files, checked by `hook build` after Nx ran. */
  checksums: string;
}

export function hookosFiles(outputId: string): HookosFiles {
  return {
    vmlinuz: `${HOOKOS_DIR}/vmlinuz-${outputId}`,
    initramfs: `${HOOKOS_DIR}/initramfs-${outputId}`,
    dtbs: `${HOOKOS_DIR}/dtbs-${outputId}.tar.gz`,
    releaseTarball: `${DIST_DIR}/hook_${outputId}.tar.gz`,
    sizeReport: `${HOOKOS_DIR}/size-report-${outputId}.md`,
    sbom: `${HOOKOS_DIR}/sbom-${outputId}.cdx.json`,
    hardware: `${HOOKOS_DIR}/hardware-${outputId}.json`,
    hardwareReport: `${HOOKOS_DIR}/hardware-${outputId}.md`,
    reportPage: `${HOOKOS_DIR}/report-${outputId}.html`,
    rootfsTar: `${HOOKOS_DIR}/hook_rootfs_${outputId}.tar`,
    rootfsFileList: `${HOOKOS_DIR}/hook_rootfs_${outputId}.filelist`,
    iso: `${HOOKOS_DIR}/hook-${outputId}.iso`,
    isoSbom: `${HOOKOS_DIR}/sbom-iso-${outputId}.cdx.json`,
    checksums: `${HOOKOS_DIR}/SHA256SUMS-${outputId}`,
  };
}

/** What the `build` target owns (everything but the ISO, which is the `iso` target's). */
export const BUILD_TARGET_FILES: readonly (keyof HookosFiles)[] = ['vmlinuz', 'initramfs', 'dtbs', 'rootfsTar', 'rootfsFileList', 'sizeReport', 'sbom', 'hardware', 'hardwareReport', 'reportPage', 'releaseTarball', 'checksums'];
export const ISO_TARGET_FILES: readonly (keyof HookosFiles)[] = ['iso', 'isoSbom'];

/** `dist/bootable/`: bootable media, one per board, named as upstream names them. */
export const BOOTABLE_DIR = `${DIST_DIR}/bootable`;

/** The files of one board's medium (`imageName` is upstream's, e.g. `hook-bootable-rpi.img`). */
export interface MediumFiles {
  /** The disk image, xz-compressed: `dist/bootable/<image name>.xz`. */
  image: string;
  /** Its software bill of materials: `dist/bootable/sbom-<image name without .img>.cdx.json`. */
  sbom: string;
}

export function mediumFiles(imageName: string): MediumFiles {
  return {
    image: `${BOOTABLE_DIR}/${imageName}.xz`,
    sbom: `${BOOTABLE_DIR}/sbom-${imageName.replace(/\.img$/, '')}.cdx.json`,
  };
}

/** `dist/bootable/<bootable id>.json`: which medium of each board the bootable's last run wrote. */
export function mediaManifestFile(bootableId: string): string {
  return `${BOOTABLE_DIR}/${bootableId}.json`;
}

/** A dist/ path (as above) on this machine. */
export function inWorkspace(workspaceRoot: string, relative: string): string {
  return join(workspaceRoot, ...relative.split('/'));
}

/** A dist/ path as an Nx target output. */
export function nxOutput(relative: string): string {
  return `{workspaceRoot}/${relative}`;
}

/**
 * Where builds stage beside their outputs (`.staging-<pid>-*`, `.tmp-<pid>-*`), and how many
 * levels down: a build removes what builds that no longer run left there (@hook/process).
 * dist/images/<name>/<arch>/blobs/sha256/ is six levels down.
 */
export function stagingDirs(workspaceRoot: string, env: NodeJS.ProcessEnv): { dir: string; depth: number }[] {
  return [
    { dir: inWorkspace(workspaceRoot, DIST_DIR), depth: 6 },
    { dir: cacheDir(workspaceRoot, env, 'kernel'), depth: 2 },
  ];
}
