/**
 * The firmware a kernel's kept modules ask for (`modinfo` firmware lines), taken from Debian's
 * non-free-firmware packages and stored under lib/firmware/ beside lib/modules/ (so it lands in
 * kernel.tar), compressed when the kernel can load it so (CONFIG_FW_LOADER_COMPRESS_XZ or _ZSTD:
 * Debian's kernels and the generic defconfigs here can; a config without it gets plain files).
 * Compressed, it costs its compressed size in RAM too, not only in the download. Symbolic links
 * the packages ship are kept (as links to the stored files). A declared file that is not stored
 * is reported with its reason; none is silently dropped.
 */
import { existsSync, lstatSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { AptSuite, extractDebData } from '@hook/debian';
import { formatBytes, log } from '@hook/log';
import { run } from '@hook/process';
import { dockerArchOf, type Arch } from '@hook/layout';
import { MODULE_FILE, unmetDependencies } from '@hook/hardware';
import { HARDWARE_INDEX, hardwareIndex, readModuleTable } from './hardware';
import type { TrimReport } from './modules';
import { kernelCacheDir } from './paths';

/** Where Debian's firmware packages put their files (usr-merged). */
const PACKAGE_FIRMWARE_DIR = 'usr/lib/firmware';

/** The names a firmware file can have on disk: as declared, or compressed as the loader reads it. */
export function firmwareFileNames(file: string): string[] {
  return [file, `${file}.zst`, `${file}.xz`];
}

export interface FirmwareFile {
  /** Path under lib/firmware/ as the module names it (e.g. `qed/qed_init_values_zipped-8.59.1.0.bin`). */
  file: string;
  /** Modules (paths under lib/modules/<release>/) that declare it. */
  modules: string[];
  /** The Debian package that ships it, when one does. */
  package?: string;
  /** What lib/firmware/ holds for it: the file name, with `.xz` or `.zst` when stored compressed. */
  stored?: string;
  /** Bytes it takes in lib/firmware/ (its target's, for a link). */
  size?: number;
  /** Why it is not there. */
  missing?: string;
}

export interface FirmwarePlan {
  files: FirmwareFile[];
  /** Package name -> version, for every package a declared file comes from. */
  packages: Record<string, string>;
}

/**
 * Whose firmware an installer carries: the network and storage controllers it provisions through
 * (and USB, the way to both on small machines). Radios, cameras, GPUs, sound, crypto
 * accelerators and serial cards are not an installer's; an Armbian kernel keeps all their modules,
 * and their firmware would be hundreds of MB.
 */
const FIRMWARE_FOR = ['kernel/drivers/net/', 'kernel/drivers/scsi/', 'kernel/drivers/ata/', 'kernel/drivers/nvme/', 'kernel/drivers/block/', 'kernel/drivers/message/', 'kernel/drivers/mmc/', 'kernel/drivers/usb/'];
const FIRMWARE_NOT_FOR = ['kernel/drivers/net/wireless/', 'kernel/drivers/net/wwan/', 'kernel/drivers/net/ieee802154/', 'kernel/drivers/usb/misc/', 'kernel/drivers/usb/serial/'];

/** Declared files left out on purpose: never loaded while what they stand in for is there. */
const LEFT_OUT: Array<{ file: RegExp; why: string }> = [
  { file: /^bnx2x\/bnx2x-e(1|1h|2)-7\.13\.15\.0\.fw$/, why: 'left out: bnx2x loads 7.13.21 (present) and asks for 7.13.15 only when that fails' },
];

/** Why a declared firmware file is left out on purpose, or undefined when it is not. */
export function leftOutReason(file: string): string | undefined {
  return LEFT_OUT.find((rule) => rule.file.test(file))?.why;
}

export function wantsFirmware(modulePath: string): boolean {
  return FIRMWARE_FOR.some((p) => modulePath.startsWith(p)) && !FIRMWARE_NOT_FOR.some((p) => modulePath.startsWith(p));
}

/**
 * Every firmware file the modules under `modulesDir` (lib/modules/<release>) declare, with who
 * declares it; only modules `wantsFirmware` accepts.
 */
export async function declaredFirmware(modulesDir: string): Promise<Map<string, string[]>> {
  const modules: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (MODULE_FILE.test(entry.name) && wantsFirmware(relative(modulesDir, path))) modules.push(relative(modulesDir, path));
    }
  };
  await walk(modulesDir);
  modules.sort();
  const declared = new Map<string, string[]>();
  // One modinfo per batch: its "filename:" lines say which module the next lines belong to.
  for (let i = 0; i < modules.length; i += 200) {
    const batch = modules.slice(i, i + 200);
    // A file modinfo cannot read (not a module) declares nothing; it still reports the others.
    const { stdout, stderr, exitCode } = await run('modinfo', batch, { cwd: modulesDir, allowFailure: true });
    if (exitCode !== 0) log.warn(`firmware: modinfo could not read every module under ${modulesDir}: ${stderr.trim().split('\n')[0]}`);
    let current: string | undefined;
    for (const line of stdout.split('\n')) {
      const field = /^(filename|firmware):\s+(.*)$/.exec(line);
      if (!field) continue;
      if (field[1] === 'filename') current = relative(modulesDir, resolve(modulesDir, field[2].trim()));
      else if (current) declared.set(field[2].trim(), [...(declared.get(field[2].trim()) ?? []), current]);
    }
  }
  return declared;
}

/** The name of the report beside a kernel (dist/kernels/<id>/). */
export const FIRMWARE_REPORT = 'firmware-report.md';

/**
 * The firmware step of every kernel build (Debian package, source, Armbian): plans, installs into
 * `rootDir`/lib/firmware and writes the firmware report and the hardware index into `workDir`.
 * Returns the plan (its packages go into a Debian or Armbian kernel's tag) and the two files, by
 * their names in dist/kernels/<id>/.
 */
export async function addKernelFirmware(options: {
  workspaceRoot: string;
  env: NodeJS.ProcessEnv;
  /** The kernel's ARCH. */
  arch: Arch;
  /** Holds lib/modules/<release>/; lib/firmware/ is written beside it. */
  rootDir: string;
  release: string;
  /** The kernel's .config: which compressed firmware its loader reads. */
  config?: string;
  /** The Debian release whose non-free-firmware packages to use. */
  suite: string;
  workDir: string;
  /** What trimming dropped, and the tree before it; a kernel built here keeps what it built. */
  trim?: TrimReport;
}): Promise<{ plan: FirmwarePlan; extras: Record<string, string> }> {
  const { workspaceRoot, env, arch, rootDir, release, config, suite, workDir, trim } = options;
  const table = trim?.table ?? (await readModuleTable(rootDir, release));
  const apt = new AptSuite(kernelCacheDir(workspaceRoot, env), suite, dockerArchOf(arch), env, ['non-free-firmware'], true);
  const plan = await installFirmware(await planFirmware(join(rootDir, 'lib', 'modules', release), apt), {
    apt,
    downloadsDir: kernelCacheDir(workspaceRoot, env, 'downloads'),
    firmwareDir: join(rootDir, 'lib', 'firmware'),
    workDir,
    compression: await firmwareCompression(config),
  });
  const reportPath = join(workDir, FIRMWARE_REPORT);
  await writeFile(reportPath, firmwareReport(plan));
  const indexPath = join(workDir, HARDWARE_INDEX);
  const index = hardwareIndex(release, table, trim?.droppedModules ?? {}, plan);
  const unmet = unmetDependencies(index);
  if (unmet.length > 0) throw new Error(`kernel modules: kept modules need modules that are not kept: ${unmet.join(', ')}`);
  await writeFile(indexPath, `${JSON.stringify(index)}\n`);
  return { plan, extras: { [FIRMWARE_REPORT]: reportPath, [HARDWARE_INDEX]: indexPath } };
}

/** Which declared files Debian ships, in which packages (and their versions): no downloads yet. */
export async function planFirmware(modulesDir: string, apt: AptSuite): Promise<FirmwarePlan> {
  const declared = await declaredFirmware(modulesDir);
  // A kernel whose modules want no firmware (the tiny test kernels) needs no package index.
  if (declared.size === 0) return { files: [], packages: {} };
  const index = await apt.contents();
  const files: FirmwareFile[] = [];
  const packages: Record<string, string> = {};
  for (const [file, modules] of [...declared].sort(([a], [b]) => a.localeCompare(b))) {
    const leftOut = leftOutReason(file);
    if (leftOut) {
      files.push({ file, modules, missing: leftOut });
      continue;
    }
    // A module may name a file Debian ships compressed already (its packages ship plain files today).
    const pkg = firmwareFileNames(file).map((name) => index.get(`${PACKAGE_FIRMWARE_DIR}/${name}`)).find(Boolean);
    if (!pkg) {
      files.push({ file, modules, missing: `no package of Debian ${apt.suite} ${apt.components.join('/')} ships it` });
      continue;
    }
    files.push({ file, modules, package: pkg });
    if (!packages[pkg]) {
      const version = await apt.candidate(pkg);
      if (!version) throw new Error(`Debian ${apt.suite}: the Contents index names ${pkg}, but apt has no version of it`);
      packages[pkg] = version;
    }
  }
  return { files, packages };
}

/**
 * Downloads the plan's packages and writes the declared files into `firmwareDir` (lib/firmware/),
 * compressed as asked, links kept. Returns the plan with what was stored.
 */
export async function installFirmware(
  plan: FirmwarePlan,
  options: { apt: AptSuite; downloadsDir: string; firmwareDir: string; workDir: string; compression: FirmwareCompression },
): Promise<FirmwarePlan> {
  const { apt, downloadsDir, firmwareDir, workDir, compression } = options;
  const suffix = compression === 'none' ? '' : `.${compression === 'xz' ? 'xz' : 'zst'}`;
  if (plan.files.length === 0) return plan;
  const unpacked = join(workDir, 'firmware-packages');
  for (const [pkg, version] of Object.entries(plan.packages).sort()) {
    const deb = await apt.download(pkg, version, downloadsDir);
    await extractDebData(deb, unpacked, (path) => path === PACKAGE_FIRMWARE_DIR || path.startsWith(`${PACKAGE_FIRMWARE_DIR}/`) || PACKAGE_FIRMWARE_DIR.startsWith(`${path}/`));
  }
  const source = join(unpacked, PACKAGE_FIRMWARE_DIR);
  const copied = new Map<string, string>();
  /** Copies one file or link (and what a link points to) into firmwareDir; returns the stored name. */
  const store = async (name: string, depth = 0): Promise<string> => {
    const known = copied.get(name);
    if (known) return known;
    if (depth > 8) throw new Error(`firmware ${name}: too many levels of symbolic links`);
    const from = join(source, name);
    const info = await lstat(from);
    if (info.isSymbolicLink()) {
      const target = normalize(join(dirname(name), await readlink(from)));
      if (target.startsWith('..')) throw new Error(`firmware ${name} links outside lib/firmware (${await readlink(from)})`);
      const storedTarget = await store(target, depth + 1);
      const stored = `${name}${suffix}`;
      await mkdir(dirname(join(firmwareDir, stored)), { recursive: true });
      await symlink(relative(dirname(name), storedTarget), join(firmwareDir, stored));
      copied.set(name, stored);
      return stored;
    }
    const stored = `${name}${suffix}`;
    await mkdir(dirname(join(firmwareDir, stored)), { recursive: true });
    // xz: a CRC32 check (the kernel's decoder knows no other) and a 2 MiB dictionary (it allocates
    // what the header says; no firmware file here is larger).
    if (compression === 'xz') await run('sh', ['-c', 'xz -C crc32 --lzma2=preset=9e,dict=2MiB -T1 -c "$1" > "$2"', 'sh', from, join(firmwareDir, stored)]);
    else if (compression === 'zstd') await run('zstd', ['-q', '-19', '--no-progress', '-o', join(firmwareDir, stored), from]);
    else await run('cp', ['--preserve=mode', from, join(firmwareDir, stored)]);
    copied.set(name, stored);
    return stored;
  };
  const files: FirmwareFile[] = [];
  for (const entry of plan.files) {
    if (!entry.package) {
      files.push(entry);
      continue;
    }
    const name = firmwareFileNames(entry.file).find((candidate) => existsSync(join(source, candidate)) || isLink(join(source, candidate)));
    if (!name) {
      files.push({ ...entry, missing: `the Contents index names ${entry.package}, but its package has no ${entry.file}` });
      continue;
    }
    let stored: string;
    try {
      stored = await store(name);
    } catch (error) {
      // A link into a package no other declared file needed: report it rather than fail the build.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      files.push({ ...entry, missing: `${entry.package} has it as a link to a file of another package (${(error as Error).message})` });
      continue;
    }
    files.push({ ...entry, stored, size: (await stat(join(firmwareDir, stored))).size });
  }
  await rm(unpacked, { recursive: true, force: true });
  const present = files.filter((f) => f.stored);
  log.info(`firmware: ${present.length} of ${files.length} declared files from ${Object.keys(plan.packages).length} Debian packages, ${formatBytes(sumSizes(present))}${compression === 'none' ? '' : ` (${compression})`}; ${files.length - present.length} not stored (firmware-report.md says why)`);
  return { ...plan, files };
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function sumSizes(files: FirmwareFile[]): number {
  // A file two names point to counts once.
  const seen = new Map<string, number>();
  for (const f of files) if (f.stored && f.size !== undefined) seen.set(f.stored, f.size);
  return [...seen.values()].reduce((a, b) => a + b, 0);
}

export type FirmwareCompression = 'xz' | 'zstd' | 'none';

/**
 * How to store firmware for a kernel configuration (a .config file): xz when its firmware loader
 * reads .xz (the smaller: 7.9 MB against zstd -19's 8.6 MB for Debian's amd64 set), else zstd,
 * else plain files.
 */
export async function firmwareCompression(configPath: string | undefined): Promise<FirmwareCompression> {
  const config = configPath ? await readFile(configPath, 'utf8') : '';
  if (/^CONFIG_FW_LOADER_COMPRESS_XZ=y$/m.test(config)) return 'xz';
  if (/^CONFIG_FW_LOADER_COMPRESS_ZSTD=y$/m.test(config)) return 'zstd';
  return 'none';
}

/** The report's firmware section (markdown): what is there, what is not and why. */
export function firmwareReport(plan: FirmwarePlan): string {
  const present = plan.files.filter((f) => f.stored);
  const missing = plan.files.filter((f) => !f.stored);
  const lines = [
    '# Firmware',
    '',
    `${plan.files.length} files declared by the kept modules: ${present.length} in lib/firmware/ (${formatBytes(sumSizes(present))}), ${missing.length} missing.`,
    `Debian packages: ${Object.entries(plan.packages).sort(([a], [b]) => a.localeCompare(b)).map(([p, v]) => `${p} ${v}`).join(', ') || 'none'}.`,
    '',
    '| File | Module | Stored | Size |',
    '| --- | --- | --- | --- |',
    ...present.map((f) => `| ${f.file} | ${moduleNames(f.modules)} | ${f.stored} (${f.package}) | ${formatBytes(f.size ?? 0)} |`),
    '',
    '| Missing file | Module | Why |',
    '| --- | --- | --- |',
    ...missing.map((f) => `| ${f.file} | ${moduleNames(f.modules)} | ${f.missing} |`),
    '',
  ];
  return lines.join('\n');
}

function moduleNames(modules: string[]): string {
  return modules.map((m) => m.split('/').pop()?.replace(MODULE_FILE, '')).join(', ');
}
