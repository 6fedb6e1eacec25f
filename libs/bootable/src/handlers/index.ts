/**
 * The handler of each upstream HANDLER. A handler that is not here yet makes
 * `hook bootable-media` say so in one line.
 */
import type { BootableHandler as HandlerName } from '@hook/inventory';
import type { BootableHandler } from '../handler';
import { armbianUbootHandlers } from './armbian-uboot';
import { grubHandler } from './grub';
import { rpiHandler } from './rpi';

export const HANDLERS: Partial<Record<HandlerName, BootableHandler>> = {
  grub: grubHandler,
  rpi_firmware: rpiHandler,
  ...armbianUbootHandlers(),
};

/**
 * Settings that change what a handler writes besides TINK_* (Nx hashes them): which firmware or
 * u-boot it downloads. Without UBOOT_VERSION the newest Armbian tag is resolved at run time,
 * as for Armbian kernels.
 */
export const HANDLER_SETTINGS: Record<HandlerName, readonly string[]> = {
  grub: [],
  rpi_firmware: ['RPI_FIRMWARE_SUITE', 'RPI_FIRMWARE_VERSION', 'DEBIAN_MIRROR'],
  armbian_uboot_amlogic: ['ARMBIAN_BASE_ORAS_REF', 'UBOOT_VERSION'],
  armbian_uboot_rockchip: ['ARMBIAN_BASE_ORAS_REF', 'UBOOT_VERSION'],
  armbian_uboot_rockchip_vendor: ['ARMBIAN_BASE_ORAS_REF', 'UBOOT_VERSION'],
};
