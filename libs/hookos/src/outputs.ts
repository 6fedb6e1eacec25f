/**
 * The flavor build's output formats, as a table: for each format, the files of dist/ it writes
 * (@hook/layout names them) and how each is made from the assembled kernel and initramfs. A
 * writer returns false when its file does not apply (no device trees on x86_64, no rootfs tar
 * unless OUTPUT_TARBALL_FILELIST=yes); only the files of the chosen format are kept.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { copyFile, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { extract as tarExtract, pack as tarPack } from 'tar-stream';
import type { DirectorySize, FsEntry } from '@hook/initramfs';
import { buildEfiIso, grubModulesDir, grubPackageOf, type EfiIsoResult } from '@hook/iso';
import { KERNEL_FILES, hookVersion, type Arch, type HookosFiles } from '@hook/layout';
import { writeTar } from '@hook/linuxkit';
import { hardwareMarkdown, type HardwareIndex } from '@hook/hardware';
import { log } from '@hook/log';
import { sha256OfFile } from '@hook/oci';
import { mediumBom, writeBom } from '@hook/sbom';
import { reportPageHtml } from './report-page';
import type { BudgetRow } from './size-budget';
import { setting } from '@hook/settings';

export type FlavorFormat = 'kernel+initrd' | 'iso-efi-initrd';
export type OutputFile = keyof HookosFiles;

/** What the writers get: the assembled build, staged, and where their own files go. */
export interface OutputContext {
  /** The staging path of one of the flavor's files (renamed into dist/ when the build succeeds). */
  staged(file: OutputFile): string;
  /** dist/hook names for this OUTPUT_ID (the dtbs tarball's folder is named after its file). */
  files: HookosFiles;
  flavorId: string;
  outputId: string;
  arch: Arch;
  /** dist/kernels/<id> of the flavor's kernel. */
  kernelDir: string;
  /** CACHE_DIR, absolute: downloads such as Debian's GRUB of another architecture. */
  cacheDir: string;
  /** The kernel command line from the LinuxKit YAML. */
  cmdline: string;
  /** The root filesystem again (for the rootfs tar). */
  rootfs: () => AsyncIterable<FsEntry>;
  sourceDateEpoch: number;
  env: NodeJS.ProcessEnv;
  /** The initramfs's folders and the size budgets, for the report page. */
  sizes: { directories: DirectorySize[]; budgets: BudgetRow[] };
  /** A development build (hook run, build:dev): no release tarball, the release's artifact. */
  development?: boolean;
}

export type OutputWriter = (ctx: OutputContext) => Promise<boolean>;

/** vmlinuz, initramfs and the size report are staged by the build itself, before any writer runs. */
const assembled: OutputWriter = async () => true;

export const OUTPUT_FORMATS: Record<FlavorFormat, { description: string; writers: Partial<Record<OutputFile, OutputWriter>> }> = {
  'kernel+initrd': {
    description: "kernel, initramfs and upstream's release tarball (the build target)",
    // In order: the release tarball takes the dtbs tarball when there is one.
    writers: {
      vmlinuz: assembled,
      initramfs: assembled,
      sizeReport: assembled,
      sbom: assembled,
      hardware: writeHardwareIndex,
      hardwareReport: writeHardwareReport,
      reportPage: writeReportPage,
      dtbs: writeDtbs,
      releaseTarball: writeReleaseTarball,
      rootfsTar: async (ctx) => setting(ctx.env, 'OUTPUT_TARBALL_FILELIST') && (await writeTar(ctx.rootfs(), ctx.staged('rootfsTar')), true),
      rootfsFileList: async (ctx) => setting(ctx.env, 'OUTPUT_TARBALL_FILELIST') && (await writeFileList(ctx.staged('rootfsTar'), ctx.staged('rootfsFileList')), true),
    },
  },
  'iso-efi-initrd': {
    description: 'the EFI ISO (the iso target); vmlinuz and initramfs stay the build target\'s',
    writers: {
      // The ISO's SBOM needs what only the ISO build sees (the GRUB image inside efiboot.img),
      // so the ISO writer writes both.
      iso: async (ctx) => {
        const iso = await buildEfiIso({
          arch: ctx.arch,
          kernelPath: ctx.staged('vmlinuz'),
          initrdPath: ctx.staged('initramfs'),
          cmdline: ctx.cmdline,
          output: ctx.staged('iso'),
          sourceDateEpoch: ctx.sourceDateEpoch,
          // The host's GRUB package, or Debian's of the flavor's arch (arm64 on an amd64 host).
          grubModulesDir: await grubModulesDir({ arch: ctx.arch, cacheDir: join(ctx.cacheDir, 'debian'), env: ctx.env }),
        });
        await writeIsoSbom(ctx, iso);
        return true;
      },
      isoSbom: assembled,
    },
  },
};

/** Writes the format's files into staging; returns the ones written, in the table's order. */
export async function writeOutputs(format: FlavorFormat, ctx: OutputContext): Promise<OutputFile[]> {
  const written: OutputFile[] = [];
  for (const [file, writer] of Object.entries(OUTPUT_FORMATS[format].writers) as [OutputFile, OutputWriter][]) {
    if (await writer(ctx)) written.push(file);
  }
  return written;
}

/** sbom-iso-<OUTPUT_ID>.cdx.json: the ISO by hash, the files on it, GRUB's Debian package, a link to the HookOS document. */
async function writeIsoSbom(ctx: OutputContext, iso: EfiIsoResult): Promise<void> {
  const grub = await grubPackageOf(iso.grubModulesDir);
  const bom = mediumBom({
    kind: 'iso',
    medium: { name: basename(ctx.files.iso), ...(await sha256OfFile(iso.output)) },
    flavorId: ctx.flavorId,
    outputId: ctx.outputId,
    version: hookVersion(ctx.env),
    arch: ctx.arch,
    hookosBomJson: await readFile(ctx.staged('sbom'), 'utf8'),
    files: iso.contents,
    packages: grub ? [grub] : [],
    properties: { 'grub:modules-dir': grub ? undefined : iso.grubModulesDir },
  });
  await writeBom(ctx.staged('isoSbom'), bom);
}

/** The kernel's hardware index, as it is; a kernel built before indexes existed (a pulled tag) has none. */
async function writeHardwareIndex(ctx: OutputContext): Promise<boolean> {
  const source = join(ctx.kernelDir, KERNEL_FILES.hardware);
  if (!existsSync(source)) {
    log.notice(`${ctx.flavorId}: the kernel in ${ctx.kernelDir} has no ${KERNEL_FILES.hardware}; no hardware report (rebuild the kernel to get one)`);
    return false;
  }
  await copyFile(source, ctx.staged('hardware'));
  return true;
}

async function writeHardwareReport(ctx: OutputContext): Promise<boolean> {
  if (!existsSync(ctx.staged('hardware'))) return false;
  const index = JSON.parse(await readFile(ctx.staged('hardware'), 'utf8')) as HardwareIndex;
  await writeFile(ctx.staged('hardwareReport'), hardwareMarkdown(index, ctx.flavorId));
  return true;
}

/** report-<OUTPUT_ID>.html: sizes, hardware and SBOM on one offline page. */
async function writeReportPage(ctx: OutputContext): Promise<boolean> {
  const hardware = existsSync(ctx.staged('hardware')) ? (JSON.parse(await readFile(ctx.staged('hardware'), 'utf8')) as HardwareIndex) : undefined;
  const page = reportPageHtml({ flavorId: ctx.flavorId, outputId: ctx.outputId, directories: ctx.sizes.directories, budgets: ctx.sizes.budgets, hardware, sbomJson: await readFile(ctx.staged('sbom'), 'utf8') });
  await writeFile(ctx.staged('reportPage'), page);
  return true;
}

/** Upstream ships dtbs with every entry under `dtbs-<OUTPUT_ID>/`; x86 kernels have none. */
async function writeDtbs(ctx: OutputContext): Promise<boolean> {
  const source = join(ctx.kernelDir, KERNEL_FILES.dtbs);
  if (!existsSync(source)) return false;
  const prefix = basename(ctx.files.dtbs).replace(/\.tar\.gz$/, '');
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
    stream.pipe(pack.entry({ ...header, name: `${prefix}/${name}`, mtime: new Date(ctx.sourceDateEpoch * 1000) }, next));
  });
  extract.on('finish', () => pack.finalize());
  const writing = pipeline(pack, createGzip({ level: 9 }), createWriteStream(ctx.staged('dtbs')));
  await pipeline(createReadStream(source), createGunzip(), extract);
  await writing;
  if (count === 0) await rm(ctx.staged('dtbs'), { force: true });
  return count > 0;
}

/** `hook_<OUTPUT_ID>.tar.gz`: vmlinuz, initramfs (dtbs) and the SBOM at the tarball's root, fixed owners and mtimes. */
async function writeReleaseTarball(ctx: OutputContext): Promise<boolean> {
  // gzip -9 over ~100 MB that is already compressed: seconds a quick try does not need.
  if (ctx.development) return false;
  const files = [ctx.staged('vmlinuz'), ctx.staged('initramfs')];
  if (existsSync(ctx.staged('dtbs'))) files.push(ctx.staged('dtbs'));
  if (existsSync(ctx.staged('sbom'))) files.push(ctx.staged('sbom'));
  const pack = tarPack();
  const writing = pipeline(pack, createGzip({ level: 9 }), createWriteStream(ctx.staged('releaseTarball')));
  for (const file of files) {
    const size = (await stat(file)).size;
    const entry = pack.entry({ name: basename(file), size, mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: new Date(ctx.sourceDateEpoch * 1000) });
    await pipeline(createReadStream(file), entry);
  }
  pack.finalize();
  await writing;
  return true;
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
