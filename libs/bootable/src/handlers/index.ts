/**
 * The handler of each upstream HANDLER. A handler that is not here yet makes
 * `hook bootable-media` say so in one line.
 */
import type { BootableHandler as HandlerName } from '@hook/inventory';
import type { BootableHandler } from '../handler';
import { grubHandler } from './grub';

export const HANDLERS: Partial<Record<HandlerName, BootableHandler>> = {
  grub: grubHandler,
};
