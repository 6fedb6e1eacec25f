/**
 * The typed inventory: what a flavor (flavors/<id>/flavor.yaml) and a kernel definition
 * (kernel/<id>/kernel.yaml) may say. Keys keep upstream's names (bash/inventory.sh) so that
 * people who know Hook find them again.
 */
import { ARCHES, type Arch, type KernelMethod } from '@hook/layout';
// The architecture names and their mapping live in @hook/layout (one home); re-exported here
// because every inventory user needs them.
export { ARCHES, dockerArchOf, type Arch, type DockerArch, type KernelMethod } from '@hook/layout';

export const KERNEL_METHODS: readonly KernelMethod[] = ['default', 'armbian', 'debian'];

/** Upstream's bootable handlers; each knows its boards (upstream's list_bootable_* functions). */
export const BOOTABLE_HANDLERS = [
  'grub',
  'rpi_firmware',
  'armbian_uboot_amlogic',
  'armbian_uboot_rockchip',
  'armbian_uboot_rockchip_vendor',
] as const;
export type BootableHandler = (typeof BOOTABLE_HANDLERS)[number];

export interface Bootable {
  ID: string;
  HANDLER: BootableHandler;
  TAG: string[];
  SERIAL_CONSOLE?: string;
  DTB?: boolean;
  UBOOT_TYPE?: 'extlinux' | 'bootscript';
  CONSOLE_EXTRA_ARGS?: string;
}

/** One board of a bootable (boardsOf()): its id and upstream's options (`BOARD=... BRANCH=...`). */
export interface Board {
  id: string;
  opts: string;
}

export interface KernelDefinition {
  /** The kernel id: its folder name under kernel/. Flavors refer to it. */
  id: string;
  /** Path of kernel.yaml relative to the workspace root. */
  file: string;
  METHOD: KernelMethod;
  ARCH: Arch;
  /** CI runner selection (CI_RUNNER_KERNEL_<TYPE>_*): upstream uses source or external. */
  TYPE?: string;
  KERNEL_MAJOR?: number;
  KERNEL_MINOR?: number;
  KCONFIG?: string;
  ARMBIAN_KERNEL_ARTIFACT?: string;
  DEBIAN_SUITE?: string;
  DEBIAN_PACKAGE?: string;
  DESCRIPTION?: string;
}

export interface Flavor {
  id: string;
  /** Path of flavor.yaml relative to the workspace root. */
  file: string;
  ARCH: Arch;
  TAG: string[];
  SUPPORTS_ISO: boolean;
  TEMPLATE: string;
  FORCE_OUTPUT_ID?: string;
  /** Use another flavor's kernel instead of kernel/<id>. */
  USE_KERNEL_ID?: string;
  LINUXKIT_VERSION?: string;
  BOOTABLES: Bootable[];
  DESCRIPTION?: string;
}

type FieldType = 'string' | 'integer' | 'boolean' | 'tags' | 'bootables';

interface FieldSpec {
  type: FieldType;
  required?: boolean;
  values?: readonly string[];
  pattern?: RegExp;
}

export const KERNEL_FIELDS: Record<string, FieldSpec> = {
  METHOD: { type: 'string', required: true, values: KERNEL_METHODS },
  ARCH: { type: 'string', required: true, values: ARCHES },
  TYPE: { type: 'string', pattern: /^[a-z0-9_]+$/ },
  KERNEL_MAJOR: { type: 'integer' },
  KERNEL_MINOR: { type: 'integer' },
  KCONFIG: { type: 'string', pattern: /^[a-z0-9_]+$/ },
  ARMBIAN_KERNEL_ARTIFACT: { type: 'string', pattern: /^[a-z0-9._-]+$/ },
  DEBIAN_SUITE: { type: 'string', pattern: /^[a-z0-9-]+$/ },
  DEBIAN_PACKAGE: { type: 'string', pattern: /^[a-z0-9.+-]+$/ },
  DESCRIPTION: { type: 'string' },
};

export const FLAVOR_FIELDS: Record<string, FieldSpec> = {
  ARCH: { type: 'string', required: true, values: ARCHES },
  TAG: { type: 'tags', required: true },
  SUPPORTS_ISO: { type: 'boolean' },
  TEMPLATE: { type: 'string', pattern: /^[a-z0-9_-]+$/ },
  FORCE_OUTPUT_ID: { type: 'string', pattern: /^[A-Za-z0-9._-]+$/ },
  USE_KERNEL_ID: { type: 'string', pattern: /^[a-z0-9][a-z0-9._-]*$/ },
  LINUXKIT_VERSION: { type: 'string', pattern: /^\d+\.\d+\.\d+$/ },
  BOOTABLES: { type: 'bootables' },
  DESCRIPTION: { type: 'string' },
};

export const BOOTABLE_FIELDS: Record<string, FieldSpec> = {
  ID: { type: 'string', required: true, pattern: /^[a-z0-9][a-z0-9._-]*$/ },
  HANDLER: { type: 'string', required: true, values: BOOTABLE_HANDLERS },
  TAG: { type: 'tags', required: true },
  SERIAL_CONSOLE: { type: 'string', pattern: /^[A-Za-z0-9]+$/ },
  DTB: { type: 'boolean' },
  UBOOT_TYPE: { type: 'string', values: ['extlinux', 'bootscript'] },
  CONSOLE_EXTRA_ARGS: { type: 'string' },
};

export type { FieldSpec };
