/**
 * The inventory: every flavor (flavors/<id>/flavor.yaml) and kernel definition
 * (kernel/<id>/kernel.yaml) of a workspace, validated and cross-checked, sorted by id.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, suggest } from '@hook/log';
import { parseYamlMapping, validateFields } from './validate';
import { imageVariableName, templateImageVariables } from './template';
import {
  FLAVOR_FIELDS,
  KERNEL_FIELDS,
  dockerArchOf,
  type Board,
  type Bootable,
  type Flavor,
  type KernelDefinition,
} from './schema';

export const FLAVORS_DIR = 'flavors';
export const KERNELS_DIR = 'kernel';
export const TEMPLATES_DIR = 'linuxkit-templates';
const ID_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

export interface Inventory {
  root: string;
  flavors: Flavor[];
  kernels: KernelDefinition[];
}

export function parseKernelDefinition(text: string, id: string, file: string): KernelDefinition {
  const { map, where } = parseYamlMapping(text, file);
  const fields = validateFields(map, KERNEL_FIELDS, where);
  const kernel = { id, file, ...fields } as KernelDefinition;
  const need = (key: keyof KernelDefinition, why: string) => {
    if (kernel[key] === undefined) throw new UserError(`${file}: missing required key '${key}' (${why})`);
  };
  if (kernel.METHOD === 'default') {
    need('KERNEL_MAJOR', 'METHOD default builds a kernel series from source');
    need('KERNEL_MINOR', 'METHOD default builds a kernel series from source');
    kernel.KCONFIG ??= 'generic';
  } else if (kernel.METHOD === 'armbian') {
    need('ARMBIAN_KERNEL_ARTIFACT', 'METHOD armbian fetches this Armbian OCI artifact');
  } else if (kernel.METHOD === 'debian') {
    need('DEBIAN_SUITE', 'METHOD debian takes the kernel package from this Debian suite');
    kernel.DEBIAN_PACKAGE ??= `linux-image-${dockerArchOf(kernel.ARCH)}`;
  }
  return kernel;
}

export function parseFlavor(text: string, id: string, file: string): Flavor {
  const { map, where } = parseYamlMapping(text, file);
  const fields = validateFields(map, FLAVOR_FIELDS, where);
  return {
    id,
    file,
    SUPPORTS_ISO: false,
    TEMPLATE: 'hook',
    BOOTABLES: [],
    ...fields,
  } as unknown as Flavor;
}

function listDefinitions(root: string, dir: string, fileName: string): { id: string; file: string }[] {
  const base = join(root, dir);
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(base, entry.name, fileName)))
    .map((entry) => {
      if (!ID_PATTERN.test(entry.name)) {
        throw new UserError(`${dir}/${entry.name}: invalid id; use lowercase letters, digits, '.', '_' and '-'`);
      }
      return { id: entry.name, file: `${dir}/${entry.name}/${fileName}` };
    })
    .sort((a, b) => compareIds(a.id, b.id));
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function loadInventory(root: string): Inventory {
  const kernels = listDefinitions(root, KERNELS_DIR, 'kernel.yaml').map(({ id, file }) =>
    parseKernelDefinition(readFileSync(join(root, file), 'utf8'), id, file),
  );
  const flavors = listDefinitions(root, FLAVORS_DIR, 'flavor.yaml').map(({ id, file }) =>
    parseFlavor(readFileSync(join(root, file), 'utf8'), id, file),
  );
  const inventory = { root, flavors, kernels };
  crossCheck(inventory);
  return inventory;
}

function crossCheck(inventory: Inventory): void {
  const kernelIds = inventory.kernels.map((k) => k.id);
  const bootableOwners = new Map<string, string>();
  for (const flavor of inventory.flavors) {
    const kernelId = kernelIdOf(flavor);
    const kernel = inventory.kernels.find((k) => k.id === kernelId);
    if (!kernel) {
      const field = flavor.USE_KERNEL_ID ? `USE_KERNEL_ID '${kernelId}'` : `its kernel (kernel/${kernelId}/kernel.yaml)`;
      const hint = suggest(kernelId, kernelIds);
      throw new UserError(
        `${flavor.file}: ${field} does not exist${hint ? ` (did you mean ${hint}?)` : ''}; add kernel/${kernelId}/kernel.yaml or set USE_KERNEL_ID to one of ${kernelIds.join(', ')}`,
      );
    }
    if (kernel.ARCH !== flavor.ARCH) {
      throw new UserError(`${flavor.file}: ARCH is ${flavor.ARCH} but its kernel ${kernel.id} is ${kernel.ARCH}`);
    }
    const template = join(inventory.root, TEMPLATES_DIR, `${flavor.TEMPLATE}.template.yaml`);
    if (!existsSync(template)) {
      throw new UserError(`${flavor.file}: TEMPLATE '${flavor.TEMPLATE}' has no file ${TEMPLATES_DIR}/${flavor.TEMPLATE}.template.yaml`);
    }
    for (const bootable of flavor.BOOTABLES) {
      const owner = bootableOwners.get(bootable.ID);
      if (owner) throw new UserError(`${flavor.file}: bootable '${bootable.ID}' is already defined by ${owner}`);
      bootableOwners.set(bootable.ID, flavor.file);
    }
  }
}

/** The kernel a flavor boots: upstream's USE_KERNEL_ID, else the kernel with the flavor's id. */
export function kernelIdOf(flavor: Flavor): string {
  return flavor.USE_KERNEL_ID ?? flavor.id;
}

export function kernelOf(inventory: Inventory, flavor: Flavor): KernelDefinition {
  const kernel = inventory.kernels.find((k) => k.id === kernelIdOf(flavor));
  if (!kernel) throw new UserError(`${flavor.file}: kernel ${kernelIdOf(flavor)} not found`);
  return kernel;
}

export function findFlavor(inventory: Inventory, id: string): Flavor {
  const flavor = inventory.flavors.find((f) => f.id === id);
  if (!flavor) {
    const ids = inventory.flavors.map((f) => f.id);
    const hint = suggest(id, ids);
    throw new UserError(`Unknown flavor '${id}'${hint ? ` (did you mean ${hint}?)` : ''}; valid ones are: ${ids.join(' ')}`);
  }
  return flavor;
}

/** Nx project name of a kernel definition. */
export function kernelProjectName(kernelId: string): string {
  return `kernel-${kernelId}`;
}

/** The linuxkit release upstream Hook pins when a flavor does not set LINUXKIT_VERSION. */
export const DEFAULT_LINUXKIT_VERSION = '1.8.2';

/** The linuxkit version a flavor is built with (only the linuxkit backend runs the binary). */
export function linuxkitVersionOf(flavor: Flavor): string {
  return flavor.LINUXKIT_VERSION ?? DEFAULT_LINUXKIT_VERSION;
}

export function outputIdOf(flavor: Flavor, kernel: KernelDefinition): string {
  if (kernel.METHOD !== 'default') return flavor.id;
  if (flavor.FORCE_OUTPUT_ID) return `${flavor.FORCE_OUTPUT_ID}-${flavor.ARCH}`;
  if (kernel.KCONFIG && kernel.KCONFIG !== 'generic') {
    return `${kernel.KCONFIG}-${kernel.KERNEL_MAJOR}.${kernel.KERNEL_MINOR}.y-${flavor.ARCH}`;
  }
  if (flavor.USE_KERNEL_ID) return flavor.id;
  return flavor.ARCH;
}

/** The defconfig file a default-method kernel builds from, relative to the workspace root. */
export function defconfigPathOf(kernel: KernelDefinition): string | undefined {
  if (kernel.METHOD !== 'default') return undefined;
  return `${KERNELS_DIR}/configs/${kernel.KCONFIG}-${kernel.KERNEL_MAJOR}.${kernel.KERNEL_MINOR}.y-${kernel.ARCH}`;
}

/** Boards of a bootable, as upstream's list_bootable_<handler> functions give them. */
export function boardsOf(bootable: Bootable): Board[] {
  const boards = ((): Record<string, string> => {
    switch (bootable.HANDLER) {
      case 'grub':
        return { [`${bootable.ID}-generic`]: 'NOT=used' };
      case 'rpi_firmware':
        return { rpi: 'NOT=used' };
      case 'armbian_uboot_amlogic':
        return { odroidhc4: 'BOARD=odroidhc4 BRANCH=edge', 'khadas-vim3': 'BOARD=khadas-vim3 BRANCH=edge' };
      case 'armbian_uboot_rockchip':
        return {
          odroidm1: 'BOARD=odroidm1 BRANCH=edge',
          quartz64a: 'BOARD=quartz64a BRANCH=edge',
          rockpro64: 'BOARD=rockpro64 BRANCH=edge',
          nanopct6: 'BOARD=nanopct6 BRANCH=edge',
          'cm3588-nas': 'BOARD=cm3588-nas BRANCH=edge',
        };
      case 'armbian_uboot_rockchip_vendor':
        return { r58x: 'BOARD=mekotronics-r58x-pro BRANCH=vendor', blade3: 'BOARD=mixtile-blade3 BRANCH=vendor' };
    }
  })();
  return Object.entries(boards)
    .map(([id, opts]) => ({ id, opts }))
    .sort((a, b) => compareIds(a.id, b.id));
}

/** Every bootable with the flavor that provides it, sorted by bootable id. */
export function bootablesOf(inventory: Inventory): { bootable: Bootable; flavor: Flavor }[] {
  return inventory.flavors
    .flatMap((flavor) => flavor.BOOTABLES.map((bootable) => ({ bootable, flavor })))
    .sort((a, b) => compareIds(a.bootable.ID, b.bootable.ID));
}

export function templatePathOf(flavor: Flavor): string {
  return `${TEMPLATES_DIR}/${flavor.TEMPLATE}.template.yaml`;
}

/**
 * The LinuxKit fragment a debug build (HOOK_DEBUG_SSH) adds to every flavor's template: its
 * images are dependencies of every flavor, so that build needs nothing built first.
 */
export const DEBUG_SSH_FRAGMENT = `${TEMPLATES_DIR}/debug-ssh.yaml`;

/** The images a flavor's build may use: its template's, then the debug fragment's (when the workspace has it). */
export function flavorImages(workspaceRoot: string, templateText: string, templateFile: string, imageFolders: readonly string[]): string[] {
  const names = imagesOfTemplate(templateText, templateFile, imageFolders);
  const fragment = join(workspaceRoot, DEBUG_SSH_FRAGMENT);
  if (existsSync(fragment)) {
    for (const name of imagesOfTemplate(readFileSync(fragment, 'utf8'), DEBUG_SSH_FRAGMENT, imageFolders)) {
      if (!names.includes(name)) names.push(name);
    }
  }
  return names;
}

/** Maps a template's image variables to image folder names; unknown variables are an error. */
export function imagesOfTemplate(templateText: string, templateFile: string, imageFolders: readonly string[]): string[] {
  const byVariable = new Map(imageFolders.map((name) => [imageVariableName(name), name]));
  return templateImageVariables(templateText).map((variable) => {
    const image = byVariable.get(variable);
    if (!image) {
      const guess = variable.replace(/^HOOK_CONTAINER_/, '').replace(/_IMAGE$/, '').toLowerCase().replace(/_/g, '-');
      throw new UserError(`${templateFile} uses \${${variable}} but there is no image folder images/${guess} or images/hook-${guess}`);
    }
    return image;
  });
}
