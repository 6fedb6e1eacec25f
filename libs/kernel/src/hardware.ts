/**
 * Writing a kernel's hardware index (@hook/hardware; dist/kernels/<id>/hardware.json) from its
 * module tree as the package or build gave it, before trimming, so the index can also say which
 * dropped module would drive a device and what keeping it costs.
 */
import { existsSync } from 'node:fs';
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MODULE_FILE, moduleClass, moduleName, type HardwareIndex, type HardwareModule } from '@hook/hardware';
import { KERNEL_FILES } from '@hook/layout';
import { run } from '@hook/process';
import type { FirmwarePlan } from './firmware';

export const HARDWARE_INDEX = KERNEL_FILES.hardware;

/** The buses whose IDs the index keeps: what an installer's network and storage hang off. */
const BUSES = ['pci', 'usb', 'vmbus', 'virtio'] as const;

/** A module tree's facts: every module's size and dependencies, and the bus IDs modules claim. */
export interface ModuleTable {
  /** Module path under lib/modules/<release>/ -> bytes on disk. */
  sizes: Map<string, number>;
  /** Module path -> the module paths it needs (modules.dep). */
  deps: Map<string, string[]>;
  /** modules.alias lines of the kept buses: [pattern, module name]. */
  aliases: Array<[string, string]>;
}

/**
 * Reads lib/modules/<release>/ (`modulesDir`). A package that ships no modules.dep (Debian's and
 * Armbian's run depmod when installed) gets one first: without it, trimming would drop what kept
 * modules need (ice needs gnss, sfc needs mtd).
 */
export async function readModuleTable(rootDir: string, release: string): Promise<ModuleTable> {
  const modulesDir = join(rootDir, 'lib', 'modules', release);
  if (!existsSync(join(modulesDir, 'modules.dep'))) await run('depmod', ['-b', rootDir, release]);
  const sizes = new Map<string, number>();
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(modulesDir, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && MODULE_FILE.test(entry.name)) sizes.set(path, (await lstat(join(modulesDir, path))).size);
    }
  };
  await walk('');
  const deps = new Map<string, string[]>();
  for (const line of (await readFile(join(modulesDir, 'modules.dep'), 'utf8')).split('\n')) {
    const [module, rest] = line.split(':');
    if (module && rest !== undefined) deps.set(module.trim(), rest.trim().split(/\s+/).filter(Boolean));
  }
  const aliases: Array<[string, string]> = [];
  const aliasText = await readFile(join(modulesDir, 'modules.alias'), 'utf8').catch(() => '');
  for (const line of aliasText.split('\n')) {
    const [word, pattern, module] = line.split(' ');
    if (word === 'alias' && pattern && module && BUSES.some((bus) => pattern.startsWith(`${bus}:`))) aliases.push([pattern, module]);
  }
  return { sizes, deps, aliases };
}

/**
 * The index of a module tree read before trimming (`table`), with what trimming dropped and why,
 * and the firmware plan of the kept modules.
 */
export function hardwareIndex(release: string, table: ModuleTable, dropped: Record<string, string>, firmware: FirmwarePlan): HardwareIndex {
  const nameOf = new Map([...table.sizes.keys()].map((path) => [path, moduleName(path)]));
  const modules: Record<string, HardwareModule> = {};
  for (const [path, size] of [...table.sizes].sort(([a], [b]) => a.localeCompare(b))) {
    const why = dropped[path];
    const declared = firmware.files.filter((f) => f.modules.includes(path));
    modules[nameOf.get(path)!] = {
      path,
      class: moduleClass(path),
      size,
      kept: why === undefined,
      ...(why !== undefined && { dropped: why }),
      depends: (table.deps.get(path) ?? []).map((dep) => nameOf.get(dep) ?? moduleName(dep)),
      ...(declared.length > 0 && { firmware: declared.map((f) => ({ file: f.file, present: Boolean(f.stored), ...(f.missing && { why: f.missing }) })) }),
    };
  }
  const ids = table.aliases.filter(([, module]) => modules[module]).sort(([a, m], [b, n]) => a.localeCompare(b) || m.localeCompare(n));
  return { release, modules, ids };
}

