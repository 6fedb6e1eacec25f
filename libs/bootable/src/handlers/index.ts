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
