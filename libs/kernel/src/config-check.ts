/**
 * The kernel config check: does a kernel have what HookOS needs (kernel/configs/required.yaml,
 * and Docker's check-config.sh "Generally Necessary" options)? Nothing is compiled:
 *
 * - a source defconfig is completed with `make olddefconfig` on its locked source (Kconfig only,
 *   seconds); a series with no source here (not in kernel/versions.lock.json) is read from its
 *   own lines, with the Kconfig defaults of a locked series standing in for what it leaves out;
 * - a Debian or Armbian kernel is checked on the config its package ships (/boot/config-*).
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { UserError, log } from '@hook/log';
import { run } from '@hook/process';
import { loadInventory, type Arch, type KernelDefinition } from '@hook/inventory';
import { AptSuite, exists, extractDebData } from '@hook/debian';
import { armbianArtifactDir, fetchArmbianArtifact, findImageDeb, latestArmbianTag } from './armbian';
import { makeVariables, runMake, type MakeContext } from './build';
import { resolveKernelPackage } from './debian-package';
import { runDockerCheckConfig } from './docker-check-config';
import { publishFile, sha256File } from './files';
import { formatKconfig, parseKconfig, readRequiredList, skipRuleFor, type KconfigValues, type RequiredList } from './kconfig';
import { readLock, type SeriesLock } from './lock';
import { cacheDir, dockerArchOf } from '@hook/layout';
import { kernelCacheDir } from './paths';
import { sha256Hex, type ArtifactRegistry } from '@hook/oci';
import { prepareSourceTree, type SourceTree } from './source';
import { setting } from '@hook/settings';

/** One config as checked: where its values came from, and a complete file for Docker's script. */
export interface CheckedConfig {
  /** What a failure line names: the defconfig, or the package's /boot/config-*. */
  file: string;
  /** How the values were obtained (the check's summary says it). */
  how: string;
  arch: Arch;
  /** A kernel Hook does not configure (Debian, Armbian package). */
  prebuilt: boolean;
  /** Set when options the file leaves out were read from another series' Kconfig. */
  standIn?: string;
  values: KconfigValues;
  /** A complete config file with these values. */
  path: string;
}

export interface ConfigCheckReport {
  /** `<file>: <how>` for every config checked. */
  checked: string[];
  /** What was not checked, and why (one line each). */
  skipped: string[];
  /** One line per missing option: the option, the config file and the reason. */
  failures: string[];
  /** Options a prebuilt kernel lacks that only warrant a note (prebuilt: note). */
  notes: string[];
}

export function emptyReport(): ConfigCheckReport {
  return { checked: [], skipped: [], failures: [], notes: [] };
}

/** Judges one config against the list and Docker's script; adds to `report`. */
export async function evaluateConfig(config: CheckedConfig, list: RequiredList, env: NodeJS.ProcessEnv, report: ConfigCheckReport): Promise<void> {
  const where = `${config.file}${config.standIn ? ` (${config.standIn})` : ''}`;
  const listed = new Set<string>();
  for (const requirement of list.options) {
    if (requirement.arch && requirement.arch !== config.arch) continue;
    listed.add(requirement.option);
    const value = config.values.get(requirement.option);
    const ok = requirement.need === 'builtin' ? value === 'y' : value === 'y' || value === 'm';
    if (ok) continue;
    const line = `CONFIG_${requirement.option} ${describeValue(value)} in ${where}, needs ${requirement.need === 'builtin' ? '=y' : '=y or =m'}: ${requirement.reason}`;
    (config.prebuilt && requirement.prebuilt === 'note' ? report.notes : report.failures).push(line);
  }
  const docker = await runDockerCheckConfig(config.path, env);
  for (const option of docker.missing) {
    if (listed.has(option)) continue; // already judged, with its reason
    report.failures.push(`CONFIG_${option} ${describeValue(config.values.get(option))} in ${where}, needs =y or =m: Docker's check-config.sh lists it as Generally Necessary`);
  }
  report.checked.push(`${config.file}: ${config.how}; ${list.options.filter((r) => !r.arch || r.arch === config.arch).length} listed options and Docker's ${docker.necessary.length} Generally Necessary ones`);
}

function describeValue(value: string | undefined): string {
  if (value === undefined || value === 'n') return 'is not set';
  return `is =${value}`;
}

// ---------------------------------------------------------------------------------------------
// Source defconfigs

const DEFCONFIG_NAME = /^(.+)-(\d+)\.(\d+)\.y-(x86_64|aarch64)$/;

interface DefconfigSeries {
  kconfig: string;
  major: number;
  minor: number;
  arch: Arch;
}

export function defconfigSeries(fileName: string): DefconfigSeries | undefined {
  const match = DEFCONFIG_NAME.exec(fileName);
  if (!match) return undefined;
  return { kconfig: match[1], major: Number(match[2]), minor: Number(match[3]), arch: match[4] as Arch };
}

/** Completes defconfigs with `make olddefconfig` on source trees, reusing one object dir per tree and arch. */
class Kconfigurator {
  private readonly trees = new Map<string, Promise<SourceTree>>();
  private readonly primed = new Map<string, Promise<void>>();
  /** Kconfig runs at a time: one per CPU. */
  private slots = availableParallelism();
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly workspaceRoot: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  tree(major: number, minor: number, lock: SeriesLock): Promise<SourceTree> {
    const key = `${major}.${minor}`;
    let tree = this.trees.get(key);
    if (!tree) {
      tree = prepareSourceTree({ workspaceRoot: this.workspaceRoot, env: this.env, major, minor, point: lock.point, debianVersion: lock.debianVersion });
      this.trees.set(key, tree);
    }
    return tree;
  }

  /** `.config` values of `defconfig` after olddefconfig; the file is written to `out`. */
  async olddefconfig(tree: SourceTree, arch: Arch, defconfig: string, out: string): Promise<KconfigValues> {
    const ctx: MakeContext = {
      sourceDir: tree.dir,
      // Persistent: kbuild compiles its conf tool here once; the configs themselves go elsewhere.
      objectDir: kernelCacheDir(this.workspaceRoot, this.env, 'config-check', basename(tree.dir), arch),
      arch,
      env: { ...this.env, CCACHE: 'no' },
      ccacheDir: cacheDir(this.workspaceRoot, this.env, 'ccache'),
    };
    await mkdir(ctx.objectDir, { recursive: true });
    // olddefconfig is a function of the defconfig, the source tree and the compiler Kconfig
    // probes: its result is kept under that key, so an unchanged config costs no make run.
    const cc = `${makeVariables(ctx).CROSS_COMPILE ?? ''}gcc`;
    const compiler = await this.compilerVersion(cc);
    const key = sha256Hex(await readFile(defconfig), '\0', basename(tree.dir), '\0', arch, '\0', compiler).slice(0, 24);
    const result = join(ctx.objectDir, 'results', `${key}.config`);
    if (await exists(result)) {
      await copyFile(result, out);
      return parseKconfig(await readFile(out, 'utf8'));
    }
    await copyFile(defconfig, out);
    const make = () => this.limited(() => runMake(ctx, ['olddefconfig'], `make olddefconfig (${basename(defconfig)})`, [`KCONFIG_CONFIG=${out}`], true));
    // The first run in an object dir builds the conf tool: let it finish before parallel ones.
    const primeKey = ctx.objectDir;
    const prime = this.primed.get(primeKey);
    if (prime) {
      await prime.catch(() => undefined);
      await make();
    } else {
      const first = make().then(() => undefined);
      this.primed.set(primeKey, first);
      await first;
    }
    await publishFile(result, (temp) => copyFile(out, temp));
    return parseKconfig(await readFile(out, 'utf8'));
  }

  private readonly compilers = new Map<string, Promise<string>>();

  private compilerVersion(cc: string): Promise<string> {
    let version = this.compilers.get(cc);
    if (!version) {
      version = run(cc, ['--version']).then((result) => result.stdout.split('\n')[0]);
      this.compilers.set(cc, version);
    }
    return version;
  }

  private async limited<T>(step: () => Promise<T>): Promise<T> {
    while (this.slots === 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.slots--;
    try {
      return await step();
    } finally {
      this.slots++;
      this.waiting.shift()?.();
    }
  }
}

/** The newest series in the lock: its Kconfig stands in for series without a source here. */
function standInSeries(locked: Record<string, SeriesLock>): { major: number; minor: number; lock: SeriesLock } | undefined {
  const series = Object.entries(locked)
    .map(([key, lock]) => {
      const match = /^v(\d+)_(\d+)$/.exec(key);
      return match ? { major: Number(match[1]), minor: Number(match[2]), lock } : undefined;
    })
    .filter((s): s is { major: number; minor: number; lock: SeriesLock } => s !== undefined)
    .sort((a, b) => b.major - a.major || b.minor - a.minor);
  return series[0];
}

function providerText(tree: SourceTree): string {
  return tree.provider === 'debian' ? `Debian linux-source ${tree.version}` : `${tree.provider} Linux ${tree.version}`;
}

async function sourceConfig(
  workspaceRoot: string,
  fileName: string,
  series: DefconfigSeries,
  configurator: Kconfigurator,
  locked: Record<string, SeriesLock>,
  scratch: string,
  report: ConfigCheckReport,
): Promise<CheckedConfig | undefined> {
  const file = `kernel/configs/${fileName}`;
  const defconfig = join(workspaceRoot, file);
  const out = join(scratch, `${fileName}.config`);
  const own = locked[`v${series.major}_${series.minor}`];
  if (own) {
    const tree = await configurator.tree(series.major, series.minor, own);
    const values = await configurator.olddefconfig(tree, series.arch, defconfig, out);
    return { file, how: `make olddefconfig on ${providerText(tree)}`, arch: series.arch, prebuilt: false, values, path: out };
  }
  const standIn = standInSeries(locked);
  if (!standIn) {
    report.skipped.push(`${file}: not checked: kernel/versions.lock.json locks no series whose source could complete it`);
    return undefined;
  }
  const tree = await configurator.tree(standIn.major, standIn.minor, standIn.lock);
  const defaults = await configurator.olddefconfig(tree, series.arch, defconfig, out);
  // The defconfig's own lines are what its series gets; only what it leaves out is approximated.
  const values = new Map([...defaults, ...parseKconfig(await readFile(defconfig, 'utf8'))]);
  await writeFile(out, formatKconfig(values));
  const standInText = `options it leaves out: ${standIn.major}.${standIn.minor} Kconfig defaults as a stand-in`;
  return {
    file,
    how: `no ${series.major}.${series.minor} source here (not in kernel/versions.lock.json): its own lines, and for what it leaves out the defaults of ${providerText(tree)}'s Kconfig (an approximation of ${series.major}.${series.minor}'s)`,
    arch: series.arch,
    prebuilt: false,
    standIn: standInText,
    values,
    path: out,
  };
}

/**
 * One defconfig of kernel/configs completed as the check sees it (olddefconfig on its locked
 * source, or the stand-in); the complete config is written to `out`.
 */
export async function completeDefconfig(options: { workspaceRoot: string; env: NodeJS.ProcessEnv; fileName: string; out: string }): Promise<CheckedConfig> {
  const { workspaceRoot, env, fileName, out } = options;
  const series = defconfigSeries(fileName);
  if (!series) throw new UserError(`kernel/configs/${fileName} is not named <KCONFIG>-<MAJOR>.<MINOR>.y-<x86_64|aarch64>`);
  const scratch = await mkdtemp(join(await ensureDir(kernelCacheDir(workspaceRoot, env, 'config-check')), 'run-'));
  try {
    const report = emptyReport();
    const config = await sourceConfig(workspaceRoot, fileName, series, new Kconfigurator(workspaceRoot, env), (await readLock(workspaceRoot)).series, scratch, report);
    if (!config) throw new UserError(report.skipped[0]);
    await copyFile(config.path, out);
    return { ...config, path: out };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Prebuilt kernel packages

/** The /boot/config-* a linux-image .deb ships, extracted once into the cache. */
async function packageConfig(workspaceRoot: string, env: NodeJS.ProcessEnv, deb: string): Promise<{ path: string; name: string } | undefined> {
  // Keyed by content: Armbian names its packages the same across artifact versions.
  const cached = kernelCacheDir(workspaceRoot, env, 'config-check', 'packages', `${basename(deb, '.deb')}-${(await sha256File(deb)).slice(0, 16)}.config`);
  const nameFile = `${cached}.name`;
  if ((await exists(cached)) && (await exists(nameFile))) return { path: cached, name: (await readFile(nameFile, 'utf8')).trim() };
  await mkdir(join(cached, '..'), { recursive: true });
  const temp = await mkdtemp(`${cached}.tmp-`);
  try {
    const written = await extractDebData(deb, temp, (path) => path === 'boot' || /^boot\/config-[^/]+$/.test(path));
    const config = written.find((path) => path.startsWith('boot/config-'));
    if (!config) return undefined;
    await publishFile(cached, (target) => copyFile(join(temp, config), target));
    await writeFile(nameFile, `/${config}\n`);
    return { path: cached, name: `/${config}` };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

async function prebuiltConfig(workspaceRoot: string, env: NodeJS.ProcessEnv, kernel: KernelDefinition, deb: string, what: string): Promise<CheckedConfig> {
  const found = await packageConfig(workspaceRoot, env, deb);
  if (!found) throw new UserError(`${what} (${basename(deb)}) ships no /boot/config-*: its config cannot be checked`);
  return {
    file: `${what}: ${found.name}`,
    how: 'the config the package ships',
    arch: kernel.ARCH,
    prebuilt: true,
    values: parseKconfig(await readFile(found.path, 'utf8')),
    path: found.path,
  };
}

async function debianConfig(workspaceRoot: string, env: NodeJS.ProcessEnv, kernel: KernelDefinition): Promise<CheckedConfig> {
  const suite = kernel.DEBIAN_SUITE as string;
  const apt = new AptSuite(kernelCacheDir(workspaceRoot, env), suite, dockerArchOf(kernel.ARCH), env);
  const pkg = await resolveKernelPackage(apt, kernel.DEBIAN_PACKAGE ?? `linux-image-${dockerArchOf(kernel.ARCH)}`);
  const deb = await apt.download(pkg.name, pkg.version, kernelCacheDir(workspaceRoot, env, 'downloads'));
  return prebuiltConfig(workspaceRoot, env, kernel, deb, `${kernel.id} (Debian ${suite} ${pkg.name} ${pkg.version})`);
}

/**
 * An Armbian kernel's config. `pull`: fetch the artifact like a build does; otherwise only an
 * artifact already in the cache is checked (tests and CI do not reach Armbian's registry).
 */
async function armbianConfig(
  workspaceRoot: string,
  env: NodeJS.ProcessEnv,
  kernel: KernelDefinition,
  pull: boolean,
  scratch: string,
  report: ConfigCheckReport,
  registry?: ArtifactRegistry,
): Promise<CheckedConfig | undefined> {
  let artifactDir: string;
  let reference: string;
  if (pull) {
    ({ artifactDir, reference } = await fetchArmbianArtifact({ workspaceRoot, kernel, env, registry }));
  } else {
    const base = armbianArtifactDir(workspaceRoot, env, kernel, '');
    const tags = await readdir(base).catch(() => [] as string[]);
    const pinned = setting(env, 'ARMBIAN_KERNEL_VERSION');
    const tag = pinned && tags.includes(pinned) ? pinned : latestArmbianTag(tags);
    if (!tag) {
      report.skipped.push(
        `${kernel.id}: not checked: its Armbian artifact (${kernel.ARMBIAN_KERNEL_ARTIFACT}) is not in the cache; './hook kernel-check <flavor>' pulls it and checks it`,
      );
      return undefined;
    }
    artifactDir = join(base, tag);
    reference = `${kernel.ARMBIAN_KERNEL_ARTIFACT}:${tag} (cached)`;
  }
  const deb = await findImageDeb(artifactDir, scratch, reference);
  return prebuiltConfig(workspaceRoot, env, kernel, deb, `${kernel.id} (Armbian ${reference})`);
}

// ---------------------------------------------------------------------------------------------
// Entry points

export interface ConfigCheckOptions {
  workspaceRoot: string;
  env: NodeJS.ProcessEnv;
  /** Replaces the OCI registry access for Armbian artifacts (tests). */
  registry?: ArtifactRegistry;
}

/**
 * Every HookOS defconfig in kernel/configs (except the list's `skip` rules), every Debian
 * kernel, and every Armbian kernel whose artifact is in the cache.
 */
export async function checkAllKernelConfigs(options: ConfigCheckOptions): Promise<ConfigCheckReport> {
  const { workspaceRoot, env } = options;
  const list = await readRequiredList(workspaceRoot);
  const report = emptyReport();
  const scratch = await mkdtemp(join(await ensureDir(kernelCacheDir(workspaceRoot, env, 'config-check')), 'run-'));
  try {
    const locked = (await readLock(workspaceRoot)).series;
    const configurator = new Kconfigurator(workspaceRoot, env);
    const names = (await readdir(join(workspaceRoot, 'kernel', 'configs'))).sort();
    const configs: Promise<CheckedConfig | undefined>[] = [];
    for (const name of names) {
      const series = defconfigSeries(name);
      if (!series) continue; // README.md, required.yaml
      const skip = skipRuleFor(list, name);
      if (skip) {
        report.skipped.push(`kernel/configs/${name}: not checked: ${skip.reason}`);
        continue;
      }
      configs.push(sourceConfig(workspaceRoot, name, series, configurator, locked, scratch, report));
    }
    const inventory = loadInventory(workspaceRoot);
    for (const kernel of inventory.kernels) {
      if (kernel.METHOD === 'debian') configs.push(debianConfig(workspaceRoot, env, kernel));
      if (kernel.METHOD === 'armbian') configs.push(armbianConfig(workspaceRoot, env, kernel, false, scratch, report));
    }
    // Let every lookup finish (none left running unobserved), then report the first failure.
    const settled = await Promise.allSettled(configs);
    const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    await evaluateAll(
      settled.map((outcome) => (outcome as PromiseFulfilledResult<CheckedConfig | undefined>).value),
      list,
      env,
      report,
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return report;
}

/** One kernel definition's config (what `./hook kernel-check <flavor>` checks). */
export async function checkKernelConfig(options: ConfigCheckOptions & { kernel: KernelDefinition }): Promise<ConfigCheckReport> {
  const { workspaceRoot, env, kernel } = options;
  const list = await readRequiredList(workspaceRoot);
  const report = emptyReport();
  const scratch = await mkdtemp(join(await ensureDir(kernelCacheDir(workspaceRoot, env, 'config-check')), 'run-'));
  try {
    let config: CheckedConfig | undefined;
    if (kernel.METHOD === 'default') {
      const name = `${kernel.KCONFIG}-${kernel.KERNEL_MAJOR}.${kernel.KERNEL_MINOR}.y-${kernel.ARCH}`;
      const series = defconfigSeries(name) as DefconfigSeries;
      if (!(await exists(join(workspaceRoot, 'kernel', 'configs', name)))) throw new UserError(`${kernel.file}: no defconfig kernel/configs/${name} to check`);
      const skip = skipRuleFor(list, name);
      if (skip) report.skipped.push(`kernel/configs/${name}: not checked: ${skip.reason}`);
      else config = await sourceConfig(workspaceRoot, name, series, new Kconfigurator(workspaceRoot, env), (await readLock(workspaceRoot)).series, scratch, report);
    } else if (kernel.METHOD === 'debian') {
      config = await debianConfig(workspaceRoot, env, kernel);
    } else {
      config = await armbianConfig(workspaceRoot, env, kernel, true, scratch, report, options.registry);
    }
    await evaluateAll([config], list, env, report);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return report;
}

async function evaluateAll(configs: (CheckedConfig | undefined)[], list: RequiredList, env: NodeJS.ProcessEnv, report: ConfigCheckReport): Promise<void> {
  const pending = configs.filter((c): c is CheckedConfig => c !== undefined);
  const workers = Array.from({ length: Math.min(availableParallelism(), pending.length) }, async () => {
    for (let config = pending.shift(); config; config = pending.shift()) await evaluateConfig(config, list, env, report);
  });
  await Promise.all(workers);
  for (const lines of [report.checked, report.skipped, report.failures, report.notes]) lines.sort();
}

async function ensureDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Logs a report (what was checked, what was not, notes, one error line per missing option)
 * and fails with one summary line when an option is missing.
 */
export function reportConfigCheck(report: ConfigCheckReport): void {
  for (const line of report.checked) log.info(`checked ${line}`);
  for (const line of report.skipped) log.notice(line);
  for (const line of report.notes) log.notice(`note (prebuilt kernel, not a failure): ${line}`);
  for (const line of report.failures) log.error(line);
  if (report.failures.length) {
    throw new UserError(
      `kernel config check: ${report.failures.length} required option${report.failures.length === 1 ? '' : 's'} missing (listed above); add ${report.failures.length === 1 ? 'it' : 'them'} to the config, or see kernel/configs/README.md`,
    );
  }
  log.notice(`kernel config check: ${report.checked.length === 1 ? 'the config has' : `all ${report.checked.length} configs have`} every required option`);
}
