/**
 * Builds one flavor from what its Nx dependencies left in dist/: the kernel
 * (dist/kernels/<id>) and the container images (dist/images/<name>/<arch> OCI layouts).
 * Renders the flavor's LinuxKit template, assembles the root filesystem (natively, or with the
 * real linuxkit binary: backend `linuxkit`, see linuxkit-backend.ts), writes the initramfs in one
 * pass, and produces upstream's file names: dist/hook/vmlinuz-<OUTPUT_ID>,
 * initramfs-<OUTPUT_ID>, dtbs-<OUTPUT_ID>.tar.gz, dist/hook_<OUTPUT_ID>.tar.gz, optionally the
 * rootfs tar and file list, or the EFI ISO. Everything is staged and renamed into place at the
 * end, so a failed build leaves nothing half-written.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { extract as tarExtract, pack as tarPack } from 'tar-stream';
import { UserError, log } from '@hook/log';
import {
  dockerArchOf,
  findFlavor,
  imageVariableName,
  imagesOfTemplate,
  kernelOf,
  linuxkitVersionOf,
  loadInventory,
  outputIdOf,
  templatePathOf,
} from '@hook/inventory';
import { sizeReport, writeInitramfs, resolveEpoch, type Compression, type FsEntry, type InitramfsResult } from '@hook/initramfs';
import { ChainResolver, DockerEngineResolver, OciLayoutResolver, RegistryResolver, assemble, checkLinuxkitVersion, linuxkitBinary, loadConfig, parseBackend, writeTar, type Backend } from '@hook/linuxkit';
import { buildEfiIso } from '@hook/iso';
import { buildWithLinuxkit, linuxkitInitrdEntries } from './linuxkit-backend';

export const DEFAULT_HOOK_VERSION = '0.11.1';
export type FlavorFormat = 'kernel+initrd' | 'iso-efi-initrd';

export interface FlavorBuildOptions {
  workspaceRoot: string;
  flavorId: string;
  env: NodeJS.ProcessEnv;
  format?: FlavorFormat;
  /** Who assembles the root filesystem; HOOK_LINUXKIT_BACKEND in `env` wins over it. Default native. */
  backend?: Backend;
}

export interface FlavorBuildResult {
  outputId: string;
  /** Final paths of every file written. */
  files: string[];
  initramfs?: InitramfsResult;
}

interface KernelJson {
  version: string;
  image: string;
}

interface ImageJson {
  ref: string;
}

/** Files of the boot/ directory that LinuxKit's kernel+initrd output takes out of the initrd. */
const KERNEL_ENTRIES = new Set(['boot/kernel', 'boot/cmdline', 'boot/ucode.cpio']);

async function readJson<T>(path: string, missing: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(missing);
    throw error;
  }
}

export async function buildFlavor(options: FlavorBuildOptions): Promise<FlavorBuildResult> {
  const { workspaceRoot, env } = options;
  const format = options.format ?? 'kernel+initrd';
  const backend = parseBackend(env.HOOK_LINUXKIT_BACKEND || options.backend);
  if (backend === 'linuxkit') linuxkitBinary(env); // a missing LINUXKIT_BIN fails before anything is written
  const inventory = loadInventory(workspaceRoot);
  const flavor = findFlavor(inventory, options.flavorId);
  if (backend === 'linuxkit') await checkLinuxkitVersion(linuxkitVersionOf(flavor), env);
  const kernel = kernelOf(inventory, flavor);
  const arch = dockerArchOf(flavor.ARCH);
  const outputId = outputIdOf(flavor, kernel);
  const dist = join(workspaceRoot, 'dist');
  const kernelDir = join(dist, 'kernels', kernel.id);
  const kernelJson = await readJson<KernelJson>(
    join(kernelDir, 'kernel.json'),
    `kernel ${kernel.id} is not built (no dist/kernels/${kernel.id}/kernel.json); run: npx nx run kernel-${kernel.id}:build`,
  );

  const templateFile = templatePathOf(flavor);
  const templatePath = join(workspaceRoot, templateFile);
  const templateText = await readFile(templatePath, 'utf8');
  const imageNames = imagesOfTemplate(templateText, templateFile, await imageFolderNames(workspaceRoot));
  const templateVars: Record<string, string> = {
    HOOK_VERSION: env.HOOK_VERSION || DEFAULT_HOOK_VERSION,
    HOOK_KERNEL_IMAGE: kernelJson.image,
    HOOK_KERNEL_ID: flavor.id,
    HOOK_KERNEL_VERSION: kernelJson.version,
  };
  const layoutDirs: string[] = [];
  for (const name of imageNames) {
    const dir = join(dist, 'images', name, arch);
    const image = await readJson<ImageJson>(
      join(dir, 'image.json'),
      `image ${name} is not built for ${arch} (no dist/images/${name}/${arch}/image.json); run: npx nx run ${name}:build-${arch}`,
    );
    templateVars[imageVariableName(name)] = image.ref;
    layoutDirs.push(dir);
  }

  const epoch = resolveEpoch(undefined, env);
  // dist/ layouts first, then the local Docker engine, then the image's registry (HOOK_PULL_IMAGES).
  const resolver = new ChainResolver([new OciLayoutResolver(layoutDirs), new DockerEngineResolver({ env }), new RegistryResolver({ env })]);
  const assembleOptions = {
    yamlPath: templatePath,
    templateVars,
    arch,
    resolver,
    kernelDir,
    sourceDateEpoch: epoch,
  };
  const outDir = join(dist, 'hook');
  const staging = join(outDir, `.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  const staged: { from: string; to: string }[] = [];
  const stage = (name: string, finalDir = outDir) => {
    const from = join(staging, name);
    staged.push({ from, to: join(finalDir, name) });
    return from;
  };
  try {
    await mkdir(staging, { recursive: true });
    const config = (await loadConfig(assembleOptions)).config;
    log.info(`Assembling ${flavor.id} (${arch}, OUTPUT_ID ${outputId}) from ${templateFile} with the ${backend} backend`);
    let rootfs: () => AsyncIterable<FsEntry>;
    let kernelPath = join(kernelDir, 'kernel');
    if (backend === 'linuxkit') {
      const built = await buildWithLinuxkit({ templatePath, templateText, templateFile, templateVars, arch, resolver, kernelDir, workDir: join(staging, 'linuxkit'), env });
      if (existsSync(built.kernelPath)) kernelPath = built.kernelPath;
      rootfs = () => withoutKernelFiles(linuxkitInitrdEntries(built.initrdPath));
    } else {
      rootfs = () => withoutKernelFiles(assemble(assembleOptions));
    }
    const initramfsName = `initramfs-${outputId}`;
    const initrd = await writeInitramfs(rootfs(), {
      output: stage(initramfsName),
      compression: compressionFrom(env),
      level: env.HOOK_INITRAMFS_LEVEL ? Number(env.HOOK_INITRAMFS_LEVEL) : undefined,
      sourceDateEpoch: epoch,
      env,
    });
    const report = sizeReport(initrd);
    await writeFile(stage(`size-report-${outputId}.md`), report.markdown);
    for (const line of report.summary.split('\n')) log.info(line);

    const vmlinuz = stage(`vmlinuz-${outputId}`);
    await pipeline(createReadStream(kernelPath), createWriteStream(vmlinuz));

    if (format === 'iso-efi-initrd') {
      await buildEfiIso({
        arch: flavor.ARCH,
        kernelPath: vmlinuz,
        initrdPath: join(staging, initramfsName),
        cmdline: config.kernel?.cmdline ?? '',
        output: stage(`hook-${outputId}.iso`),
        sourceDateEpoch: epoch,
      });
      // The ISO target owns only the ISO; vmlinuz/initramfs belong to the build target.
      staged.splice(0, staged.length, ...staged.filter((s) => s.to.endsWith('.iso')));
    } else {
      const releaseFiles = [vmlinuz, join(staging, initramfsName)];
      const dtbs = await repackDtbs(join(kernelDir, 'dtbs.tar.gz'), stage(`dtbs-${outputId}.tar.gz`), `dtbs-${outputId}`, epoch);
      if (dtbs) releaseFiles.push(dtbs);
      else staged.splice(staged.findIndex((s) => s.to.endsWith(`dtbs-${outputId}.tar.gz`)), 1);
      await writeReleaseTarball(releaseFiles, stage(`hook_${outputId}.tar.gz`, dist), epoch);
      if (env.OUTPUT_TARBALL_FILELIST === 'yes') {
        const rootfsTar = stage(`hook_rootfs_${outputId}.tar`);
        await writeTar(rootfs(), rootfsTar);
        await writeFileList(rootfsTar, stage(`hook_rootfs_${outputId}.filelist`));
      }
    }
    for (const { from, to } of staged) await rename(from, to);
    log.info(`Built ${staged.map((s) => s.to.slice(workspaceRoot.length + 1)).join(', ')}`);
    return { outputId, files: staged.map((s) => s.to), initramfs: initrd };
  } finally {
    // The resolvers' temp layouts (images from the Docker engine or a registry) go with the staging dir.
    await Promise.all([rm(staging, { recursive: true, force: true }), resolver.close()]);
  }
}

async function imageFolderNames(workspaceRoot: string): Promise<string[]> {
  const base = join(workspaceRoot, 'images');
  if (!existsSync(base)) return [];
  return (await readdir(base, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
}

async function* withoutKernelFiles(entries: AsyncIterable<FsEntry>): AsyncGenerator<FsEntry> {
  for await (const entry of entries) {
    if (!KERNEL_ENTRIES.has(entry.path)) yield entry;
  }
}

function compressionFrom(env: NodeJS.ProcessEnv): Compression {
  const value = env.HOOK_INITRAMFS_COMPRESSION || 'zstd';
  if (value !== 'zstd' && value !== 'gzip' && value !== 'none') {
    throw new UserError(`HOOK_INITRAMFS_COMPRESSION is '${value}'; use zstd, gzip or none`);
  }
  return value;
}

/** Upstream ships dtbs with every entry under `dtbs-<OUTPUT_ID>/`; x86 kernels have none. */
async function repackDtbs(source: string, output: string, prefix: string, epoch: number): Promise<string | undefined> {
  if (!existsSync(source)) return undefined;
  const pack = tarPack();
  const extract = tarExtract();
  let count = 0;
  extract.on('entry', (header, stream, next) => {
    const name = header.name.replace(/^\.?\/?/, '');
    if (name === '') {
      stream.resume();
      stream.on('end', next);
      return;
    }
    count++;
    stream.pipe(pack.entry({ ...header, name: `${prefix}/${name}`, mtime: new Date(epoch * 1000) }, next));
  });
  extract.on('finish', () => pack.finalize());
  const writing = pipeline(pack, createGzip({ level: 9 }), createWriteStream(output));
  await pipeline(createReadStream(source), createGunzip(), extract);
  await writing;
  return count > 0 ? output : undefined;
}

/** `hook_<OUTPUT_ID>.tar.gz`: the files at the tarball's root, fixed owners and mtimes. */
async function writeReleaseTarball(files: string[], output: string, epoch: number): Promise<void> {
  const pack = tarPack();
  const writing = pipeline(pack, createGzip({ level: 9 }), createWriteStream(output));
  for (const file of files) {
    const size = (await stat(file)).size;
    const entry = pack.entry({ name: basename(file), size, mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: new Date(epoch * 1000) });
    await pipeline(createReadStream(file), entry);
  }
  pack.finalize();
  await writing;
}

async function writeFileList(tarFile: string, output: string): Promise<void> {
  const names: string[] = [];
  const extract = tarExtract();
  extract.on('entry', (header, stream, next) => {
    names.push(`${header.type} ${header.mode?.toString(8)} ${header.uid}:${header.gid} ${header.size ?? 0} ${header.name}`);
    stream.resume();
    stream.on('end', next);
  });
  await pipeline(createReadStream(tarFile), extract);
  await writeFile(output, `${names.join('\n')}\n`);
}
