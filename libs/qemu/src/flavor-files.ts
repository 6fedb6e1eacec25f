/**
 * A built flavor's kernel and initramfs in dist/hook (what `hook run` boots and `hook serve`
 * serves), checked against the build's SHA256SUMS (Nx restores its cache unchecked), or one line
 * saying how to build it.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { type Flavor, resolveFlavor } from '@hook/inventory';
import { type HookosFiles, inWorkspace, verifySha256Sums } from '@hook/layout';
import { UserError } from '@hook/log';

export interface BuiltFlavor {
  flavor: Flavor;
  /** Its dist/ paths, relative to the workspace. */
  files: HookosFiles;
  kernel: string;
  initrd: string;
}

export async function builtFlavorFiles(workspaceRoot: string, flavorId: string): Promise<BuiltFlavor> {
  const { flavor, files } = resolveFlavor(workspaceRoot, flavorId);
  const kernel = inWorkspace(workspaceRoot, files.vmlinuz);
  const initrd = inWorkspace(workspaceRoot, files.initramfs);
  if (!existsSync(kernel) || !existsSync(initrd)) {
    throw new UserError(`${flavor.id} is not built (no ${files.vmlinuz} or ${files.initramfs}): run ./hook build ${flavor.id}`);
  }
  const checked = await verifySha256Sums(workspaceRoot, inWorkspace(workspaceRoot, files.checksums), `${flavor.id}:build`);
  for (const file of [kernel, initrd]) {
    if (!checked.includes(file)) throw new UserError(`${files.checksums} does not list ${basename(file)}: run npx nx run ${flavor.id}:build --skip-nx-cache`);
  }
  return { flavor, files, kernel, initrd };
}
