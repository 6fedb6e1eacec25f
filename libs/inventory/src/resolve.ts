/**
 * A flavor with what follows from it: its kernel, upstream's OUTPUT_ID and the files its build
 * writes to dist/hook. The one place that puts the three together (the CLI, the Nx plugin, the
 * flavor build, `hook run`, the boot tests and bootable media all need them).
 */
import { hookosFiles, type HookosFiles } from '@hook/layout';
import { findFlavor, kernelOf, loadInventory, outputIdOf, type Inventory } from './inventory';
import type { Flavor, KernelDefinition } from './schema';

export interface ResolvedFlavor {
  flavor: Flavor;
  kernel: KernelDefinition;
  /** Upstream's OUTPUT_ID: the suffix of the flavor's files in dist/hook. */
  outputId: string;
  /** The flavor's files in dist/hook, relative to the workspace root. */
  files: HookosFiles;
}

/**
 * The flavor `id` of the workspace at `root` (or of an inventory already loaded). An unknown id
 * is findFlavor's one-line UserError: "Unknown flavor 'x' (did you mean y?); valid ones are: ...".
 */
export function resolveFlavor(root: string | Inventory, id: string): ResolvedFlavor {
  const inventory = typeof root === 'string' ? loadInventory(root) : root;
  const flavor = findFlavor(inventory, id);
  return resolveParsedFlavor(flavor, kernelOf(inventory, flavor));
}

/** The same for a flavor and its kernel already read (the Nx plugin reads them file by file). */
export function resolveParsedFlavor(flavor: Flavor, kernel: KernelDefinition): ResolvedFlavor {
  const outputId = outputIdOf(flavor, kernel);
  return { flavor, kernel, outputId, files: hookosFiles(outputId) };
}
