import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError, log } from '@hook/log';
import { sha256OfPath } from '@hook/layout';
import { hasCommand, run } from '@hook/process';
import { HOOK_ISO_CMDLINE_PLACEHOLDER, findPlaceholder } from './placeholder';
import { checkGrubTools, grubTarget, makeGrubEfiImage, markerGrubConfig } from './grub-image';

export type IsoArch = 'x86_64' | 'aarch64';

export interface EfiIsoOptions {
  arch: IsoArch;
  kernelPath: string;
  initrdPath: string;
  /** Kernel command line written on the grub.cfg `linux` line (normally the Hook placeholder). */
  cmdline: string;
  output: string;
  /** Seconds since 1970 used for every timestamp in the ISO and its FAT image. */
  sourceDateEpoch: number;
  /** GRUB module directory; default /usr/lib/grub/<x86_64-efi|arm64-efi> from Debian's grub-efi-*-bin. */
  grubModulesDir?: string;
}

export interface EfiIsoResult {
  output: string;
  bytes: number;
  /** The files on the ISO (path on the ISO, sha256, size). */
  contents: IsoFile[];
  /** The GRUB modules the image was made from (its Debian package names the GRUB version). */
  grubModulesDir: string;
}

export interface IsoFile {
  name: string;
  sha256: string;
  size: number;
}

async function describeFiles(files: Array<[name: string, path: string]>): Promise<IsoFile[]> {
  return Promise.all(files.map(async ([name, path]) => ({ name, sha256: await sha256OfPath(path), size: (await stat(path)).size })));
}

/** Only this file exists on the ISO's root: GRUB finds the ISO (not the FAT image, not a disk) by it. */
export const ISO_MARKER_FILE = '/hookos-iso.marker';

/**
 * GRUB's own config: find the ISO, then read the ISO's grub.cfg. GRUB is a plain grub-mkimage
 * with every module built in (no memdisk, no prefix lookups), because grub-mkstandalone's
 * memdisk tar carries build-time timestamps and so is not reproducible.
 */
export function embeddedGrubConfig(): string {
  return markerGrubConfig(ISO_MARKER_FILE, '/EFI/BOOT/grub.cfg', 'the ISO file system');
}

/** The ISO's EFI/BOOT/grub.cfg, laid out like LinuxKit's iso-efi-initrd. */
export function isoGrubConfig(cmdline: string): string {
  if (/[\r\n]/.test(cmdline)) throw new UserError('the kernel command line must be a single line (it contains a line break)');
  return ['set timeout=0', 'set gfxpayload=text', "menuentry 'HookOS' {", `\tlinux /kernel ${cmdline} text`, '\tinitrd /initrd.img', '}', ''].join('\n');
}

/**
 * Builds an EFI-bootable ISO (kernel, initrd, GRUB) whose grub.cfg carries `cmdline`.
 * Byte-identical for the same inputs and sourceDateEpoch. Written to a temp name and renamed.
 */
export async function buildEfiIso(options: EfiIsoOptions): Promise<EfiIsoResult> {
  const target = grubTarget(options.arch);
  if (!Number.isInteger(options.sourceDateEpoch) || options.sourceDateEpoch < 0) {
    throw new UserError(`sourceDateEpoch must be a whole number of seconds, got ${options.sourceDateEpoch}`);
  }
  const grubDir = options.grubModulesDir ?? `/usr/lib/grub/${target.format}`;
  await checkTools(grubDir, options.arch);
  for (const [what, path] of [['kernel', options.kernelPath], ['initrd', options.initrdPath]] as const) {
    if (!existsSync(path)) throw new UserError(`${what} not found: ${path}`);
  }

  const output = resolve(options.output);
  if (!existsSync(dirname(output))) throw new UserError(`the ISO's folder does not exist: ${dirname(output)}; create it first`);
  const work = await mkdtemp(join(dirname(output), `.${basename(output)}.work-`));
  const partial = join(work, 'image.iso');
  const env = { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch), MTOOLS_SKIP_CHECK: '1' };
  try {
    const bootEfi = join(work, target.bootFile);
    await makeGrubEfiImage({ arch: options.arch, modulesDir: grubDir, embeddedConfig: embeddedGrubConfig(), modules: ['iso9660'], output: bootEfi, env });

    const fatImage = join(work, 'efiboot.img');
    await makeFatImage(fatImage, bootEfi, target.bootFile, env);

    const grubCfg = join(work, 'grub.cfg');
    await writeFile(grubCfg, isoGrubConfig(options.cmdline));
    const marker = join(work, 'marker');
    await writeFile(marker, 'HookOS ISO\n');

    const graft = (inIso: string, source: string) => `${inIso}=${escapeGraftSource(resolve(source))}`;
    await run(
      'xorriso',
      [
        '-as', 'mkisofs',
        // -r (Rock Ridge with owner 0 and sane modes) instead of LinuxKit's -R: input owners
        // and modes would otherwise change the bytes.
        '-r', '-V', 'HOOKOS', '-graft-points',
        '-e', 'efiboot.img', '-no-emul-boot', '-hide', 'efiboot.img', '-hide', 'boot.catalog',
        '-o', partial,
        graft('kernel', options.kernelPath),
        graft('initrd.img', options.initrdPath),
        graft('EFI/BOOT/grub.cfg', grubCfg),
        graft(ISO_MARKER_FILE.slice(1), marker),
        graft('efiboot.img', fatImage),
        '--',
        // SOURCE_DATE_EPOCH fixes the volume dates; this fixes every file's and directory's.
        '-alter_date_r', 'b', `=${options.sourceDateEpoch}`, '/', '--',
        // A fixed order of the file data: with equal weights libisofs orders it by the source
        // files' inode numbers, which differ from build to build (seen under load).
        ...DATA_ORDER.flatMap((path, index) => ['-find', path, '-exec', 'sort_weight', String(DATA_ORDER.length - index), '--']),
      ],
      { env },
    );

    if (options.cmdline.includes(HOOK_ISO_CMDLINE_PLACEHOLDER)) {
      const found = await findPlaceholder(partial, HOOK_ISO_CMDLINE_PLACEHOLDER);
      if (found.length !== 1) {
        throw new UserError(`the Hook command line placeholder appears ${found.length} times in the ISO (the kernel or initrd contains it too); Smee needs exactly one`);
      }
    }
    // What is on the ISO, for its SBOM (the GRUB image lives inside efiboot.img).
    const contents = await describeFiles([
      [`EFI/BOOT/${target.bootFile}`, bootEfi],
      ['EFI/BOOT/grub.cfg', grubCfg],
      ['efiboot.img', fatImage],
      ['kernel', options.kernelPath],
      ['initrd.img', options.initrdPath],
    ]);
    await rename(partial, output);
    const bytes = (await stat(output)).size;
    log.info(`ISO written: ${output} (${Math.round(bytes / 1024 / 1024)} MiB)`);
    return { output, bytes, contents, grubModulesDir: grubDir };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Where each file's data goes in the ISO, first to last (after the boot catalog). */
const DATA_ORDER = ['/efiboot.img', '/EFI/BOOT/grub.cfg', ISO_MARKER_FILE, '/kernel', '/initrd.img'];

async function makeFatImage(image: string, bootEfi: string, bootFile: string, env: NodeJS.ProcessEnv): Promise<void> {
  // Room for the GRUB image plus 1 MiB of FAT overhead, rounded to whole MiB (LinuxKit adds
  // 511 KiB); 32 sectors x 2 heads per cylinder keeps mformat's geometry consistent.
  const efiBytes = (await stat(bootEfi)).size;
  const mib = Math.ceil(efiBytes / 1048576) + 1;
  const sectors = mib * 2048;
  await run('mformat', ['-i', image, '-C', '-T', String(sectors), '-h', '2', '-s', '32', '-N', '484f4f4b', '-v', 'HOOKEFI', '::'], { env });
  await run('mmd', ['-i', image, '::/EFI', '::/EFI/BOOT'], { env });
  await run('mcopy', ['-i', image, bootEfi, `::/EFI/BOOT/${bootFile}`], { env });
}

/** In xorriso pathspecs `=` separates the two paths and `\` escapes; escape both in the source. */
function escapeGraftSource(path: string): string {
  return path.replace(/\\/g, '\\\\').replace(/=/g, '\\=');
}

async function checkTools(grubDir: string, arch: IsoArch): Promise<void> {
  const tools: Array<[string, string]> = [
    ['mformat', 'mtools'],
    ['mmd', 'mtools'],
    ['mcopy', 'mtools'],
    ['xorriso', 'xorriso'],
  ];
  for (const [command, debianPackage] of tools) {
    if (!(await hasCommand(command))) {
      throw new UserError(`'${command}' is needed to build the ISO; install it (Debian: apt-get install ${debianPackage})`);
    }
  }
  await checkGrubTools(arch, grubDir);
}
