export { kernelCommandLine, tinkSettings, DEFAULT_MEDIA_TINK_SERVER, type TinkSettings } from './cmdline';
export { writeDiskImage, validateLayout, sfdiskScript, partitionBytesFor, guidFrom, type DiskLayout, type FatFile, type RawWrite, type WrittenImage } from './disk-image';
export type { BootableHandler, FlavorOutputs, HandlerContext } from './handler';
export { HANDLERS } from './handlers';
export { grubHandler, grubConfig, GRUB_MEDIUM_MARKER } from './handlers/grub';
export { buildBootableMedia, compressXz, flavorOutputs, handlerOf, type BootableMediaRequest, type WrittenMedium } from './media';
export { readMediaManifest, resolveBootable, selectBoards, type MediaManifest, type ResolvedBootable } from './select';
export { checkCardDevice, liveSystemView, parseMountInfo, writeImageToDevice, type MountEntry, type SystemView } from './device';
export { writeMediumSbom } from './sbom';
