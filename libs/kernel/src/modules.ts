/**
 * Trimming a prebuilt kernel's module tree to what an installer needs, with a report of what
 * was kept and dropped. A module another kept module depends on (modules.dep) is always kept.
 */
import { lstat, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes, log } from '@hook/log';
import { run } from '@hook/process';

export interface ModuleRule {
  /** Path prefix under lib/modules/<release>/ (e.g. `kernel/sound/`). */
  prefix: string;
  why: string;
}

export interface ModulePolicy {
  name: string;
  drop: ModuleRule[];
  /** Prefixes kept even though a drop rule matches (more specific wins). */
  keep: ModuleRule[];
}

/** What an installer never needs: sound, cameras/TV, GPUs beyond simple framebuffers, radios, staging. */
export const INSTALLER_POLICY: ModulePolicy = {
  name: 'installer',
  drop: [
    { prefix: 'kernel/sound/', why: 'sound' },
    { prefix: 'kernel/drivers/media/', why: 'media (cameras, TV, video capture)' },
    { prefix: 'kernel/drivers/staging/', why: 'staging drivers' },
    { prefix: 'kernel/drivers/gpu/', why: 'GPU drivers' },
    { prefix: 'kernel/drivers/net/wireless/', why: 'wireless' },
    { prefix: 'kernel/net/wireless/', why: 'wireless' },
    { prefix: 'kernel/net/mac80211/', why: 'wireless' },
    { prefix: 'kernel/drivers/bluetooth/', why: 'bluetooth' },
    { prefix: 'kernel/net/bluetooth/', why: 'bluetooth' },
    { prefix: 'kernel/drivers/iio/', why: 'industrial I/O sensors' },
    { prefix: 'kernel/drivers/input/joystick/', why: 'joysticks' },
    { prefix: 'kernel/drivers/input/touchscreen/', why: 'touchscreens' },
    { prefix: 'kernel/drivers/isdn/', why: 'ISDN' },
    { prefix: 'kernel/drivers/net/can/', why: 'CAN bus' },
    { prefix: 'kernel/drivers/comedi/', why: 'data acquisition' },
  ],
  keep: [
    { prefix: 'kernel/drivers/gpu/drm/tiny/', why: 'simple framebuffers (simpledrm, bochs, cirrus)' },
    { prefix: 'kernel/drivers/gpu/drm/virtio/', why: 'virtio-gpu' },
    { prefix: 'kernel/drivers/gpu/drm/drm', why: 'DRM core and helpers' },
    { prefix: 'kernel/drivers/gpu/drm/ttm/', why: 'DRM memory manager (bochs)' },
    { prefix: 'kernel/drivers/gpu/drm/display/', why: 'DRM display helpers' },
  ],
};

/** Upstream Hook's Armbian trimming. */
export const ARMBIAN_POLICY: ModulePolicy = {
  name: 'armbian (upstream)',
  drop: [
    { prefix: 'kernel/sound/', why: 'sound' },
    { prefix: 'kernel/drivers/gpu/drm/panthor/', why: 'panthor GPU' },
  ],
  keep: [],
};

export interface TrimReport {
  policy: string;
  release: string;
  kept: { count: number; bytes: number };
  dropped: { count: number; bytes: number; byReason: Record<string, { count: number; bytes: number }> };
  /** Modules a drop rule matched but that kept modules need. */
  keptAsDependency: string[];
  markdown: string;
}

function isModule(path: string): boolean {
  return /\.ko(\.(xz|zst|gz))?$/.test(path);
}

async function listFiles(root: string, relative = ''): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const entry of await readdir(join(root, relative), { withFileTypes: true })) {
    const path = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(root, path)));
    else if (entry.isFile()) out.push({ path, size: (await lstat(join(root, path))).size });
  }
  return out;
}

function ruleFor(policy: ModulePolicy, path: string): ModuleRule | undefined {
  const keep = policy.keep.find((r) => path.startsWith(r.prefix));
  const drop = policy.drop.find((r) => path.startsWith(r.prefix));
  if (!drop) return undefined;
  return keep && keep.prefix.length > drop.prefix.length ? undefined : drop;
}

/** modules.dep as a map: module path -> paths it depends on. */
function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [module, rest] = line.split(':');
    if (module && rest !== undefined) deps.set(module.trim(), rest.trim().split(/\s+/).filter(Boolean));
  }
  return deps;
}

/**
 * Applies `policy` to `modulesDir` (= .../lib/modules/<release>), runs `depmod -b` on the
 * result so modules.dep matches, and reports.
 */
export async function trimModules(rootDir: string, release: string, policy: ModulePolicy): Promise<TrimReport> {
  const modulesDir = join(rootDir, 'lib', 'modules', release);
  const files = (await listFiles(modulesDir)).filter((f) => isModule(f.path));
  const depText = await readFile(join(modulesDir, 'modules.dep'), 'utf8').catch(() => '');
  const deps = parseModulesDep(depText);

  const dropped = new Map<string, ModuleRule>();
  for (const file of files) {
    const rule = ruleFor(policy, file.path);
    if (rule) dropped.set(file.path, rule);
  }
  // Keep whatever a kept module needs, transitively.
  const keptAsDependency: string[] = [];
  const pending = files.map((f) => f.path).filter((p) => !dropped.has(p));
  while (pending.length) {
    const module = pending.pop() as string;
    for (const dep of deps.get(module) ?? []) {
      if (dropped.delete(dep)) {
        keptAsDependency.push(dep);
        pending.push(dep);
      }
    }
  }

  const byReason: Record<string, { count: number; bytes: number }> = {};
  let droppedBytes = 0;
  let keptBytes = 0;
  let keptCount = 0;
  for (const file of files) {
    const rule = dropped.get(file.path);
    if (!rule) {
      keptBytes += file.size;
      keptCount++;
      continue;
    }
    await rm(join(modulesDir, file.path));
    droppedBytes += file.size;
    const entry = (byReason[rule.why] ??= { count: 0, bytes: 0 });
    entry.count++;
    entry.bytes += file.size;
  }
  await removeEmptyDirs(join(modulesDir, 'kernel'));
  await run('depmod', ['-b', rootDir, release]);

  const lines = [
    `# Kernel modules kept and dropped (${release}, policy: ${policy.name})`,
    '',
    `- kept: ${keptCount} modules, ${formatBytes(keptBytes)}`,
    `- dropped: ${dropped.size} modules, ${formatBytes(droppedBytes)}`,
    '',
    '| dropped because | modules | size |',
    '|---|---:|---:|',
    ...Object.entries(byReason)
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .map(([why, v]) => `| ${why} | ${v.count} | ${formatBytes(v.bytes)} |`),
    '',
    `Kept on purpose: ${policy.keep.map((r) => `${r.prefix} (${r.why})`).join(', ') || 'nothing'}.`,
    keptAsDependency.length ? `Kept because kept modules need them: ${keptAsDependency.sort().join(', ')}.` : 'No dropped module was needed by a kept one.',
    '',
  ];
  const report: TrimReport = {
    policy: policy.name,
    release,
    kept: { count: keptCount, bytes: keptBytes },
    dropped: { count: dropped.size, bytes: droppedBytes, byReason },
    keptAsDependency,
    markdown: lines.join('\n'),
  };
  log.info(`modules (${policy.name}): kept ${keptCount} (${formatBytes(keptBytes)}), dropped ${dropped.size} (${formatBytes(droppedBytes)})`);
  for (const [why, v] of Object.entries(byReason)) log.info(`  dropped ${why}: ${v.count} modules, ${formatBytes(v.bytes)}`);
  return report;
}

async function removeEmptyDirs(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return false;
  let empty = true;
  for (const entry of entries) {
    if (entry.isDirectory() && (await removeEmptyDirs(join(dir, entry.name)))) continue;
    empty = false;
  }
  if (empty) await rm(dir, { recursive: true });
  return empty;
}

export async function writeReport(path: string, report: TrimReport): Promise<void> {
  await writeFile(path, report.markdown);
}
