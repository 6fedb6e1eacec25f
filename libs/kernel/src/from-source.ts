/** METHOD default: a kernel built from source with a defconfig from kernel/configs. */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError, log } from '@hook/log';
import { defconfigPathOf, type KernelDefinition } from '@hook/inventory';
import { run } from '@hook/process';
import { buildKernel, checkHostTools, configure, makeArchOf, runMake, type MakeContext } from './build';
import { chooseBuilder, containerRunner, ensureBuilderImage } from './container-builder';
import { exists, tempDirBeside } from '@hook/debian';
import { addKernelFirmware } from './firmware';
import { readLock, seriesKey } from './lock';
import { writeKernelOutputs } from './outputs';
import { cacheDir, type KernelMetadata } from '@hook/layout';
import { kernelCacheDir, kernelOciBase, sourceDateEpoch } from './paths';
import { artifactRegistry, type ArtifactRegistry } from '@hook/oci';
import { debianSourceSuite, prepareSourceTree, type SourceTree } from './source';
import { highestBuiltPoint, sourceKernelTag } from './tag';
import { setting } from '@hook/settings';

export interface SourceBuildOptions {
  workspaceRoot: string;
  kernel: KernelDefinition;
  env: NodeJS.ProcessEnv;
  registry?: ArtifactRegistry;
}

interface Series {
  major: number;
  minor: number;
}

function seriesOf(kernel: KernelDefinition): Series {
  return { major: kernel.KERNEL_MAJOR as number, minor: kernel.KERNEL_MINOR as number };
}

/** The defconfig path (relative), or a UserError listing what exists. */
export async function requireDefconfig(workspaceRoot: string, kernel: KernelDefinition): Promise<string> {
  const path = defconfigPathOf(kernel);
  if (path && (await exists(join(workspaceRoot, path)))) return path;
  const available = await readdir(join(workspaceRoot, 'kernel', 'configs')).catch(() => [] as string[]);
  const same = available.filter((name) => name.startsWith(`${kernel.KCONFIG}-`) && name.endsWith(`-${kernel.ARCH}`));
  throw new UserError(
    `${kernel.file}: no defconfig ${path} for ${kernel.KERNEL_MAJOR}.${kernel.KERNEL_MINOR}.y; add it or choose a series that has one (${same.map((n) => n.split('-')[1]).join(', ') || 'none for this KCONFIG and ARCH'})`,
  );
}

/** The point release to build: KERNEL_POINT_RELEASE, USE_LATEST_BUILT_KERNEL, else the lock. */
export async function resolvePoint(
  workspaceRoot: string,
  kernel: KernelDefinition,
  env: NodeJS.ProcessEnv,
  registry?: ArtifactRegistry,
): Promise<{ point: number; debianVersion?: string }> {
  const { major, minor } = seriesOf(kernel);
  const pinned = setting(env, 'KERNEL_POINT_RELEASE');
  if (pinned !== undefined) return { point: pinned };
  if (setting(env, 'USE_LATEST_BUILT_KERNEL')) {
    const repository = kernelOciBase(env);
    const tags = await (registry ?? artifactRegistry(env)).listTags(repository);
    const point = highestBuiltPoint(tags, major, minor);
    if (point === undefined) throw new UserError(`USE_LATEST_BUILT_KERNEL=yes but ${repository} has no ${major}.${minor}.* kernel; build one or unset it`);
    return { point };
  }
  const entry = (await readLock(workspaceRoot)).series[seriesKey(major, minor)];
  if (!entry) {
    throw new UserError(
      `kernel/versions.lock.json has no point release for ${major}.${minor} (key ${seriesKey(major, minor)}); refresh the kernel lock (refreshKernelLock) or set KERNEL_POINT_RELEASE`,
    );
  }
  return { point: entry.point, debianVersion: entry.debianVersion };
}

function makeContext(workspaceRoot: string, kernel: KernelDefinition, env: NodeJS.ProcessEnv, tree: SourceTree): MakeContext {
  return {
    sourceDir: tree.dir,
    // Persistent per kernel definition and source: the next build reuses the objects.
    objectDir: kernelCacheDir(workspaceRoot, env, 'build', kernel.id, basename(tree.dir)),
    arch: kernel.ARCH,
    env,
    ccacheDir: setting(env, 'KERNEL_CCACHE_DIR') ?? cacheDir(workspaceRoot, env, 'ccache'),
  };
}

export async function buildFromSource(options: SourceBuildOptions): Promise<KernelMetadata> {
  const { workspaceRoot, kernel, env } = options;
  const { major, minor } = seriesOf(kernel);
  const defconfig = await requireDefconfig(workspaceRoot, kernel);
  const { builder, engine } = await chooseBuilder(env);
  if (builder === 'host') await checkHostTools(kernel.ARCH);
  const { point, debianVersion } = await resolvePoint(workspaceRoot, kernel, env, options.registry);
  const tag = await sourceKernelTag(workspaceRoot, defconfig, major, minor, point);
  const image = `${kernelOciBase(env)}:${tag}`;
  log.info(`kernel ${kernel.id}: Linux ${major}.${minor}.${point} with ${defconfig} -> ${image}`);

  const tree = await prepareSourceTree({ workspaceRoot, env, major, minor, point, debianVersion });
  const ctx = makeContext(workspaceRoot, kernel, env, tree);
  const stage = await tempDirBeside(kernelCacheDir(workspaceRoot, env, 'stage', kernel.id));
  try {
    if (engine) {
      const builderImage = await ensureBuilderImage(engine, workspaceRoot);
      ctx.runner = containerRunner(engine, builderImage, [ctx.sourceDir, ctx.objectDir, ctx.ccacheDir, stage]);
    }
    await configure(ctx, join(workspaceRoot, defconfig));
    const products = await buildKernel(ctx, stage);
    const config = join(ctx.objectDir, '.config');
    // Firmware from the Debian release that provides the source (not part of the tag, which is
    // the defconfig's: a firmware package update reaches a pushed tag only with a new build).
    const firmware = await addKernelFirmware({ workspaceRoot, env, arch: kernel.ARCH, rootDir: products.modulesRoot, release: products.release, config, suite: debianSourceSuite(env), workDir: stage });
    const metadata = await writeKernelOutputs(
      workspaceRoot,
      { image: products.image, modulesRoot: products.modulesRoot, systemMap: products.systemMap, dtbsDir: products.dtbsDir, extras: firmware.extras, config, firmwarePackages: firmware.plan.packages },
      {
        id: kernel.id,
        method: 'default',
        arch: kernel.ARCH,
        release: products.release,
        version: `${major}.${minor}.${point}`,
        tag,
        image,
        source: { provider: tree.provider, version: tree.version, ...(tree.provider === 'debian' ? { name: `linux-source-${major}.${minor}` } : {}) },
        defconfig,
        builder,
      },
      sourceDateEpoch(env) ?? 0,
    );
    log.notice(`kernel ${kernel.id}: ${products.release} written to dist/kernels/${kernel.id} (${tag})`);
    return metadata;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** `make menuconfig` (or a shell) on the kernel's config, then saves the defconfig back. */
export async function configureFromSource(options: SourceBuildOptions & { mode: 'menuconfig' | 'shell' }): Promise<void> {
  const { workspaceRoot, kernel, env } = options;
  const { major, minor } = seriesOf(kernel);
  const defconfig = await requireDefconfig(workspaceRoot, kernel);
  await checkHostTools(kernel.ARCH);
  const { point, debianVersion } = await resolvePoint(workspaceRoot, kernel, env, options.registry);
  const tree = await prepareSourceTree({ workspaceRoot, env, major, minor, point, debianVersion });
  const ctx = makeContext(workspaceRoot, kernel, env, tree);
  await configure(ctx, join(workspaceRoot, defconfig));
  if (options.mode === 'menuconfig') {
    await run('make', [`O=${ctx.objectDir}`, `ARCH=${makeArchOf(ctx.arch)}`, 'menuconfig'], { cwd: tree.dir, inherit: true });
  } else {
    log.notice(`A shell in ${tree.dir}; the object directory (.config) is ${ctx.objectDir}. Exit the shell to save the defconfig.`);
    await run(env.SHELL || 'bash', [], { cwd: tree.dir, inherit: true, env: { ...env, KBUILD_OUTPUT: ctx.objectDir, ARCH: makeArchOf(ctx.arch) }, allowFailure: true });
  }
  await runMake(ctx, ['savedefconfig'], 'make savedefconfig');
  const saved = await readFile(join(ctx.objectDir, 'defconfig'));
  await writeFile(join(workspaceRoot, defconfig), saved);
  // The object dir's .config now matches the saved defconfig: record it as the one in use.
  await writeFile(join(ctx.objectDir, '.hook-defconfig'), saved);
  log.notice(`saved ${defconfig}; its kernel tag changes with it`);
}
