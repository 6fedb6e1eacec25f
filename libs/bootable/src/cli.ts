/**
 * What the `hook` command needs before and after Nx runs a bootable target: validation of the
 * bootable, boards, TINK_* settings and CARD_DEVICE, and the write to the device. Kept apart
 * from the handlers so the command's bundle stays small.
 */
export { tinkSettings } from './cmdline';
export { checkCardDevice, writeImageToDevice } from './device';
export { readMediaManifest, resolveBootable, selectBoards } from './select';
