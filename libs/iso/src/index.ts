export { buildEfiIso, embeddedGrubConfig, isoGrubConfig, ISO_MARKER_FILE } from './build';
export type { EfiIsoOptions, EfiIsoResult, IsoArch, IsoFile } from './build';
export { HOOK_ISO_CMDLINE_PLACEHOLDER, findPlaceholder, patchCmdline, paddedCmdline } from './placeholder';
export { grubPackageOf, type GrubPackage } from './grub-package';
export { GRUB_TARGETS, checkGrubTools, grubTarget, makeGrubEfiImage, markerGrubConfig, type GrubArch, type GrubImageOptions, type GrubTarget } from './grub-image';
export { grubModulesDir, grubMkimageVersion, type GrubModulesRequest } from './grub-modules';
