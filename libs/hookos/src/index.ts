export { buildFlavor, DEFAULT_HOOK_VERSION, type FlavorBuildOptions, type FlavorBuildResult, type FlavorFormat } from './build-flavor';
