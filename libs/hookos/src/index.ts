export { buildFlavor, type FlavorBuildOptions, type FlavorBuildResult, type InitramfsProfile } from './build-flavor';
export { OUTPUT_FORMATS, writeOutputs, type FlavorFormat, type OutputContext, type OutputFile, type OutputWriter } from './outputs';
export { readFlavorBudget, readImageBudgets, parseSize, type FlavorBudget } from './size-budget';
