/**
 * Builds one flavor from what its Nx dependencies left in dist/ (paths and names: @hook/layout).
 * It reads as three steps:
 * 1. inventory: the flavor, its kernel (kernel.json) and the images its template names
 *    (image.json of each, for this arch), which fill the template's variables;
 * 2. options: the assembly backend (native, or the real linuxkit binary: @hook/linuxkit), the
 *    initramfs compression, SOURCE_DATE_EPOCH;
 * 3. outputs: the root filesystem is assembled and written as the initramfs in one pass, then
 *    the format's files are written from the table in outputs.ts (kernel+initrd with upstream's
 *    release tarball, or the EFI ISO).
 * Everything is staged and renamed into place at the end, so a failed build leaves nothing
 * half-written.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError, formatBytes, log } from '@hook/log';
import { removeOnInterrupt } from '@hook/process';
import {
  cacheDir,
  HOOKOS_DIR,
  KERNEL_FILES,
  hookVersion,
  imageDir,
  imageNames as imageFolderNames,
  inWorkspace,
  kernelDir as kernelDirOf,
  readKernelJson,
  requireImageJson,
  sha256OfPath,
  sha256SumsText,
  verifyImageLayout,
  verifyKernelFiles,
} from '@hook/layout';
import {
  dockerArchOf,
  imageVariableName,
  flavorImages,
  linuxkitVersionOf,
  resolveFlavor,
  templatePathOf,
} from '@hook/inventory';
import { DEVELOPMENT_ZSTD_LEVEL, sizeReport, writeInitramfs, resolveEpoch, type FsEntry, type InitramfsResult } from '@hook/initramfs';
import {
  ChainResolver,
  DockerEngineResolver,
  OciLayoutResolver,
  RegistryResolver,
  assemble,
  buildWithLinuxkit,
  checkLinuxkitVersion,
  linuxkitBinary,
  linuxkitInitrdEntries,
  loadConfig,
  parseBackend,
  type Backend,
} from '@hook/linuxkit';
import { OUTPUT_FORMATS, writeOutputs, type FlavorFormat, type OutputFile } from './outputs';
import { budgetMarkdown, budgetRows, checkBudgets, readFlavorBudget, readImageBudgets } from './size-budget';
import { imageSizes } from './image-size';
import { withDebugSsh } from './debug-ssh';
import { noteModules, writeHookosSbom } from './sbom';
import { setting } from '@hook/settings';

export type { FlavorFormat } from './outputs';

export interface FlavorBuildOptions {
  workspaceRoot: string;
  flavorId: string;
  env: NodeJS.ProcessEnv;
  format?: FlavorFormat;
  /** Who assembles the root filesystem; HOOK_LINUXKIT_BACKEND in `env` wins over it. Default native. */
  backend?: Backend;
  /**
   * `development`: the initramfs at DEVELOPMENT_ZSTD_LEVEL, for a quick try (`hook run`, the
   * build target's `dev` configuration); `release` (default): the release bytes.
   * HOOK_INITRAMFS_LEVEL in `env` wins over it.
   */
  initramfs?: InitramfsProfile;
}

export type InitramfsProfile = 'release' | 'development';

export interface FlavorBuildResult {
  outputId: string;
  /** Final paths of every file written. */
  files: string[];
  initramfs?: InitramfsResult;
}

/** Files of the boot/ directory that LinuxKit's kernel+initrd output takes out of the initrd. */
const KERNEL_ENTRIES = new Set(['boot/kernel', 'boot/cmdline', 'boot/ucode.cpio']);

export async function buildFlavor(options: FlavorBuildOptions): Promise<FlavorBuildResult> {
  const { workspaceRoot, env } = options;
  const format = options.format ?? 'kernel+initrd';
  if (!OUTPUT_FORMATS[format]) throw new UserError(`format '${format}' is unknown; formats are: ${Object.keys(OUTPUT_FORMATS).join(', ')}`);
  const backend = parseBackend(setting(env, 'HOOK_LINUXKIT_BACKEND') ?? options.backend);
  if (backend === 'linuxkit') linuxkitBinary(env); // a missing LINUXKIT_BIN fails before anything is written

  // 1. Inventory: the flavor, its kernel and the images its template names, as built in dist/.
  const { flavor, kernel, outputId, files } = resolveFlavor(workspaceRoot, options.flavorId);
  if (backend === 'linuxkit') await checkLinuxkitVersion(linuxkitVersionOf(flavor), env);
  const arch = dockerArchOf(flavor.ARCH);
  const kernelDir = inWorkspace(workspaceRoot, kernelDirOf(kernel.id));
  const kernelJson = await readKernelJson(workspaceRoot, kernel.id);
  // Nx restores dist/ from its cache unchecked: the kernel's files must match kernel.json.
  await verifyKernelFiles(workspaceRoot, kernelJson);
  const templateFile = templatePathOf(flavor);
  const templatePath = join(workspaceRoot, templateFile);
  const templateText = await readFile(templatePath, 'utf8');
  const templateVars: Record<string, string> = {
    HOOK_VERSION: hookVersion(env),
    HOOK_KERNEL_IMAGE: kernelJson.image,
    HOOK_KERNEL_ID: flavor.id,
    HOOK_KERNEL_VERSION: kernelJson.version,
  };
  const layoutDirs: string[] = [];
  const imageLayouts: { name: string; dir: string; ref: string }[] = [];
  for (const name of flavorImages(workspaceRoot, templateText, templateFile, imageFolderNames(workspaceRoot))) {
    templateVars[imageVariableName(name)] = (await requireImageJson(workspaceRoot, name, arch)).ref;
    layoutDirs.push(inWorkspace(workspaceRoot, imageDir(name, arch)));
    imageLayouts.push({ name, dir: layoutDirs[layoutDirs.length - 1], ref: templateVars[imageVariableName(name)] });
    // Layers are read as streams later: every blob is checked against its digest first.
    await verifyImageLayout(workspaceRoot, layoutDirs[layoutDirs.length - 1], `${name}:build-${arch}`);
  }
  // Size budgets are read (and a mistake in them reported) before anything is built.
  const flavorBudget = readFlavorBudget(workspaceRoot, flavor.id);
  const imageBudgets = readImageBudgets(workspaceRoot);

  // 2. Options.
  const epoch = resolveEpoch(undefined, env);
  const compression = setting(env, 'HOOK_INITRAMFS_COMPRESSION');
  // dist/ layouts first, then the local Docker engine, then the image's registry (HOOK_PULL_IMAGES).
  const resolver = new ChainResolver([new OciLayoutResolver(layoutDirs), new DockerEngineResolver({ env }), new RegistryResolver({ env })]);
  // HOOK_DEBUG_SSH: the template plus the debug fragment (sshd) and the keys.
  const debugKeys = setting(env, 'HOOK_DEBUG_SSH');
  const yamlText = debugKeys ? withDebugSsh(workspaceRoot, templateText, templateFile, debugKeys) : undefined;
  if (yamlText) log.warn(`HOOK_DEBUG_SSH: this HookOS runs sshd with the keys of ${debugKeys} (a debug build: not for production)`);
  const assembleOptions = { yamlPath: templatePath, yamlText, templateVars, arch, resolver, kernelDir, sourceDateEpoch: epoch };

  // 3. Outputs, staged beside their final place.
  const staging = inWorkspace(workspaceRoot, `${HOOKOS_DIR}/.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  const staged = (file: OutputFile) => join(staging, basename(files[file]));
  // An interrupt (Ctrl-C, kill) removes the staging; a later build removes it if this process died.
  const forgetStaging = removeOnInterrupt(staging);
  try {
    await mkdir(staging, { recursive: true });
    const config = (await loadConfig(assembleOptions)).config;
    log.info(`Assembling ${flavor.id} (${arch}, OUTPUT_ID ${outputId}) from ${templateFile} with the ${backend} backend`);
    let rootfs: () => AsyncIterable<FsEntry>;
    let kernelPath = join(kernelDir, KERNEL_FILES.image);
    if (backend === 'linuxkit') {
      const built = await buildWithLinuxkit({ templatePath, templateText: yamlText ?? templateText, templateFile, templateVars, arch, resolver, kernelDir, workDir: join(staging, 'linuxkit'), env });
      if (existsSync(built.kernelPath)) kernelPath = built.kernelPath;
      rootfs = () => withoutKernelFiles(linuxkitInitrdEntries(built.initrdPath));
    } else {
      rootfs = () => withoutKernelFiles(assemble(assembleOptions));
    }
    const modules = new Set<string>();
    const initrd = await writeInitramfs(noteModules(rootfs(), modules), {
      output: staged('initramfs'),
      compression,
      level: setting(env, 'HOOK_INITRAMFS_LEVEL') ?? (options.initramfs === 'development' && compression === 'zstd' ? DEVELOPMENT_ZSTD_LEVEL : undefined),
      longWindow: setting(env, 'HOOK_INITRAMFS_LONG'),
      sourceDateEpoch: epoch,
      env,
      // Segments of images that did not change are taken from here instead of compressed again.
      segmentCache: cacheDir(workspaceRoot, env, 'initramfs-segments'),
    });
    const report = sizeReport(initrd);
    const budgets = budgetRows(
      { kernelBytes: (await stat(kernelPath)).size, initramfsBytes: initrd.compressedSize, unpackedBytes: initrd.uncompressedSize, images: await imageSizes(imageLayouts.filter((image) => (yamlText ?? templateText).includes(imageVariableName(image.name)))) },
      flavorBudget,
      imageBudgets,
    );
    // Budgets are for the release bytes; the development level is larger by design.
    if (options.initramfs === 'development') log.info(`${flavor.id}: a development build (zstd -${initrd.level}); size budgets apply to the release level (hook build)`);
    else checkBudgets(budgets, flavor.id, env);
    await writeFile(staged('sizeReport'), `${report.markdown}\n${firmwareMarkdown(initrd)}${budgetMarkdown(budgets, flavor.id)}`);
    for (const line of report.summary.split('\n')) log.info(line);
    await pipeline(createReadStream(kernelPath), createWriteStream(staged('vmlinuz')));
    await writeHookosSbom({
      path: staged('sbom'),
      workspaceRoot,
      flavorId: flavor.id,
      outputId,
      arch: flavor.ARCH,
      dockerArch: arch,
      env,
      kernel: kernelJson,
      kernelDir,
      templateVars,
      config,
      modules,
      vmlinuz: { name: basename(files.vmlinuz), path: staged('vmlinuz') },
      initramfs: { name: basename(files.initramfs), result: initrd },
    });

    const written = await writeOutputs(format, {
      staged,
      files,
      flavorId: flavor.id,
      outputId,
      arch: flavor.ARCH,
      kernelDir,
      cacheDir: cacheDir(workspaceRoot, env),
      cmdline: config.kernel?.cmdline ?? '',
      rootfs,
      sourceDateEpoch: epoch,
      env,
      sizes: { directories: initrd.sizes.directories, budgets },
      development: options.initramfs === 'development',
    });
    // A release tarball left by an earlier build would not hold these files.
    if (format === 'kernel+initrd' && !written.includes('releaseTarball')) await rm(inWorkspace(workspaceRoot, files.releaseTarball), { force: true });
    if (format === 'kernel+initrd') {
      // SHA256SUMS-<OUTPUT_ID>: what `hook build` checks after Nx restored or built the files.
      const sums = [];
      for (const file of written) sums.push({ name: relative(dirname(files.checksums), files[file]), sha256: await sha256OfPath(staged(file)) });
      await writeFile(staged('checksums'), sha256SumsText(sums));
      written.push('checksums');
    }
    const finals = written.map((file) => inWorkspace(workspaceRoot, files[file]));
    for (const [i, file] of written.entries()) {
      await mkdir(dirname(finals[i]), { recursive: true });
      await rename(staged(file), finals[i]);
    }
    log.info(`Built ${written.map((file) => files[file]).join(', ')}`);
    return { outputId, files: finals, initramfs: initrd };
  } finally {
    // The resolvers' temp layouts (images from the Docker engine or a registry) go with the staging dir.
    await Promise.all([rm(staging, { recursive: true, force: true }), resolver.close()]);
    forgetStaging();
  }
}

/** What the kernel's firmware costs, as a line of the size report (.xz files cost about their size compressed too). */
function firmwareMarkdown(initrd: InitramfsResult): string {
  const firmware = initrd.sizes.directories.find((d) => /^\/(usr\/)?lib\/firmware$/.test(d.path));
  if (!firmware) return '';
  return `### Firmware\n\n${formatBytes(firmware.bytes)} in ${firmware.files} files under \`${firmware.path}\`, what the kept network and storage modules declare; the kernel's \`firmware-report.md\` lists each file and why a missing one is missing.\n\n`;
}

async function* withoutKernelFiles(entries: AsyncIterable<FsEntry>): AsyncGenerator<FsEntry> {
  for await (const entry of entries) {
    if (!KERNEL_ENTRIES.has(entry.path)) yield entry;
  }
}


