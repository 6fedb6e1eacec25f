export { buildEfiIso, embeddedGrubConfig, isoGrubConfig, ISO_MARKER_FILE } from './build';
export type { EfiIsoOptions, IsoArch } from './build';
export { HOOK_ISO_CMDLINE_PLACEHOLDER, findPlaceholder, patchCmdline, paddedCmdline } from './placeholder';
