export { kernelCommandLine, tinkSettings, TINK_DEFAULTS, TINK_SETTING_NAMES, type TinkSettings } from './cmdline';
export { writeDiskImage, validateLayout, sfdiskScript, partitionBytesFor, guidFrom, type DiskLayout, type FatFile, type RawWrite, type WrittenImage } from './disk-image';
export { boardOptions, type Board, type BootableHandler, type FlavorOutputs, type HandlerContext } from './handler';
export { HANDLERS, HANDLER_SETTINGS } from './handlers';
export { grubHandler, grubConfig, GRUB_MEDIUM_MARKER } from './handlers/grub';
export { buildBootableMedia, compressXz, flavorOutputs, handlerOf, mediaFile, mediaFilesOf, type BootableMediaRequest, type WrittenMedium } from './media';
export { BOOTABLE_DIR, mediaManifestFile, readMediaManifest, resolveBootable, selectBoards, type MediaManifest, type ResolvedBootable } from './select';
export { checkCardDevice, liveSystemView, parseMountInfo, writeImageToDevice, type MountEntry, type SystemView } from './device';
export { mediumSbomFile, writeMediumSbom } from './sbom';
