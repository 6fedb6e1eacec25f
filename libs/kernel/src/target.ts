/**
 * The entry points the Nx plugin's kernel targets call: build, configure, refresh the lock.
 */
import { readKernelJson, type KernelMetadata } from '@hook/layout';
import { UserError, log } from '@hook/log';
import { loadInventory, suggest, type KernelDefinition } from '@hook/inventory';
import { buildFromArmbian } from './armbian';
import { checkKernelConfig, reportConfigCheck } from './config-check';
import { buildFromDebianPackage } from './debian-package';
import { buildFromSource, configureFromSource } from './from-source';
import { publishKernel } from './publish';
import { refreshLock } from './refresh';
import type { ArtifactRegistry } from '@hook/oci';
import { setting } from '@hook/settings';

export interface KernelTargetOptions {
  workspaceRoot: string;
  kernelId: string;
  env: NodeJS.ProcessEnv;
  /** Replaces the OCI registry access (tests, alternative clients). */
  registry?: ArtifactRegistry;
}

export function findKernel(workspaceRoot: string, kernelId: string): KernelDefinition {
  const inventory = loadInventory(workspaceRoot);
  const kernel = inventory.kernels.find((k) => k.id === kernelId);
  if (!kernel) {
    const ids = inventory.kernels.map((k) => k.id);
    const hint = suggest(kernelId, ids);
    throw new UserError(`Unknown kernel '${kernelId}'${hint ? ` (did you mean ${hint}?)` : ''}; kernels are the folders of kernel/: ${ids.join(' ')}`);
  }
  return kernel;
}

export async function buildKernelTarget(opts: KernelTargetOptions): Promise<KernelMetadata> {
  const kernel = findKernel(opts.workspaceRoot, opts.kernelId);
  const common = { workspaceRoot: opts.workspaceRoot, kernel, env: opts.env, registry: opts.registry };
  const metadata = await (kernel.METHOD === 'default'
    ? buildFromSource(common)
    : kernel.METHOD === 'debian'
      ? buildFromDebianPackage(common)
      : buildFromArmbian(common));
  return metadata;
}

/**
 * The kernel's `publish` target (after `build`, never cached): DO_PUSH=yes pushes the built
 * kernel image, EXPORT_KERNEL_IMAGE=yes writes it as an OCI layout. Separate from the cached
 * build so a cache hit still publishes.
 */
export async function publishKernelTarget(opts: KernelTargetOptions): Promise<void> {
  const kernel = findKernel(opts.workspaceRoot, opts.kernelId);
  const metadata = await readKernelJson(opts.workspaceRoot, kernel.id);
  if (!setting(opts.env, 'DO_PUSH') && !setting(opts.env, 'EXPORT_KERNEL_IMAGE')) {
    log.info(`kernel ${kernel.id}: nothing to publish (set DO_PUSH=yes and/or EXPORT_KERNEL_IMAGE=yes)`);
    return;
  }
  await publishKernel(opts.workspaceRoot, metadata, opts.env);
}

export async function configureKernel(opts: KernelTargetOptions & { mode: 'menuconfig' | 'shell' }): Promise<void> {
  const kernel = findKernel(opts.workspaceRoot, opts.kernelId);
  if (kernel.METHOD === 'armbian') {
    throw new UserError(
      `${kernel.id} is an Armbian kernel: its configuration is Armbian's; see https://github.com/armbian/build/tree/main/config/kernel (config/kernel/ in armbian/build)`,
    );
  }
  if (kernel.METHOD === 'debian') {
    throw new UserError(`${kernel.id} is Debian's prebuilt kernel package, which cannot be reconfigured; use a METHOD default kernel with a defconfig instead`);
  }
  await configureFromSource({ workspaceRoot: opts.workspaceRoot, kernel, env: opts.env, registry: opts.registry, mode: opts.mode });
}

export async function refreshKernelLock(opts: { workspaceRoot: string; kernelIds?: string[]; env: NodeJS.ProcessEnv }): Promise<void> {
  const inventory = loadInventory(opts.workspaceRoot);
  const kernels = opts.kernelIds ? opts.kernelIds.map((id) => findKernel(opts.workspaceRoot, id)) : inventory.kernels;
  const fromSource = kernels.filter((k) => k.METHOD === 'default');
  if (!fromSource.length) {
    log.info('no METHOD default kernels selected: the lock is unchanged');
    return;
  }
  await refreshLock(opts.workspaceRoot, fromSource, opts.env);
}

/** The kernel's `check-config` target: its config against kernel/configs/required.yaml and Docker's check-config.sh. */
export async function checkKernelConfigTarget(opts: KernelTargetOptions): Promise<void> {
  const kernel = findKernel(opts.workspaceRoot, opts.kernelId);
  reportConfigCheck(await checkKernelConfig({ workspaceRoot: opts.workspaceRoot, env: opts.env, kernel, registry: opts.registry }));
}
