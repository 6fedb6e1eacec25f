export { kernelCommandLine, tinkSettings, TINK_DEFAULTS, TINK_SETTING_NAMES, type TinkSettings } from './cmdline';
export { writeDiskImage, validateLayout, sfdiskScript, partitionBytesFor, guidFrom, type DiskLayout, type FatFile, type RawWrite, type WrittenImage } from './disk-image';
export { boardOptions, type Board, type BootableHandler, type FlavorOutputs, type HandlerContext } from './handler';
export { HANDLERS } from './handlers';
export { grubHandler, grubConfig, GRUB_MEDIUM_MARKER } from './handlers/grub';
export {
  BOOTABLE_DIR,
  buildBootableMedia,
  compressXz,
  flavorOutputs,
  mediaFile,
  mediaFilesOf,
  resolveBootable,
  selectBoards,
  type BootableMediaRequest,
  type ResolvedBootable,
  type WrittenMedium,
} from './media';
export { checkCardDevice, liveSystemView, parseMountInfo, writeImageToDevice, type MountEntry, type SystemView } from './device';
