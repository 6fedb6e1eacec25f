// Template rendering is Hook's rule, shared with the Nx plugin's graph edges: it lives in @hook/inventory.
export { renderTemplate, templateImageVariables, isTemplateVariable, imageVariableName } from '@hook/inventory';
export { validateConfig, referenceExpand } from './config';
export type { MobyConfig, ImageYaml, ImageConfigYaml, FileYaml, KernelYaml, ParsedConfig } from './config';
export { mobySchema, definitions } from './schema';
export { buildOciSpec, parseLabel, ALL_CAPABILITIES, LABEL_NAME } from './oci-spec';
export type { ImageRunConfig, OciResult } from './oci-spec';
export { goMarshalIndent } from './go-json';
export { OciLayoutResolver, ChainResolver, requireImage, refCandidates } from './resolver';
export type { ImageResolver, ImageSource } from './resolver';
export { flattenLayers, cleanPath } from './flatten';
export { assemble, loadConfig, DEFAULT_MTIME } from './assemble';
export type { AssembleOptions } from './assemble';
export { writeTar } from './tar-output';
export { parseBackend, linuxkitBuild, linuxkitBuildArgs, linuxkitBinary } from './backend';
export type { Backend, LinuxkitBuildOptions } from './backend';
