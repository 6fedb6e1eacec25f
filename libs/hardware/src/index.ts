/**
 * The hardware index of a kernel: which bus IDs its modules claim (modules.alias: PCI, USB,
 * Hyper-V's vmbus, virtio), whether each module is kept (and why not), what it needs, and the
 * firmware it declares with what is present. @hook/kernel writes it beside each kernel
 * (dist/kernels/<id>/hardware.json), the flavor build copies it into dist/hook with a readable
 * report, and `hook hardware` answers "will this flavor drive my device?" from it, without Docker
 * or a boot. Nothing here reads a module tree: only the index.
 */
import { formatBytes } from '@hook/log';

export type DeviceClass = 'network' | 'storage' | 'other';

/** A kernel module's file name (compressed or not). */
export const MODULE_FILE = /\.ko(\.xz|\.zst|\.gz)?$/;

/** A module's name as modules.alias and modprobe spell it: the file name, `-` as `_`. */
export function moduleName(path: string): string {
  return (path.split('/').pop() ?? path).replace(MODULE_FILE, '').replace(/-/g, '_');
}

/** Network, storage or other, from where the module sits in the tree. */
export function moduleClass(path: string): DeviceClass {
  if (/^kernel\/drivers\/(net|infiniband)\//.test(path)) return 'network';
  if (/^kernel\/drivers\/(scsi|ata|nvme|block|message|mmc|md|cdrom|usb\/storage)\//.test(path)) return 'storage';
  return 'other';
}

export interface HardwareModule {
  path: string;
  class: DeviceClass;
  size: number;
  kept: boolean;
  /** Why the installer policy dropped it. */
  dropped?: string;
  /** Module names it needs (directly). */
  depends: string[];
  /** Firmware it declares, for the modules whose firmware is collected (network, storage, USB). */
  firmware?: Array<{ file: string; present: boolean; why?: string }>;
}

export interface HardwareIndex {
  release: string;
  modules: Record<string, HardwareModule>;
  /** [modules.alias pattern, module name], for the buses above. */
  ids: Array<[string, string]>;
}

/** Kept modules that need a module that is not kept: a module that cannot load. */
export function unmetDependencies(index: HardwareIndex): string[] {
  return Object.entries(index.modules)
    .filter(([, m]) => m.kept)
    .flatMap(([name, m]) => m.depends.filter((dep) => !index.modules[dep]?.kept).map((dep) => `${name} needs ${dep}`));
}

/** A device as an operator gives it: IDs, and the class when lspci printed it. */
export interface Device {
  bus: 'pci' | 'usb';
  vendor: string;
  device: string;
  /** PCI class and subclass (`0200`), from `lspci -n`/`-nn`. */
  classCode?: string;
  /** What the line said, to repeat in the answer. */
  text: string;
}

/**
 * Devices from the command line or pasted text: `vendor:device` words, `lspci -nn` lines
 * (`... [0200]: ... [14e4:165f] (rev 01)`), `lspci -n` lines (`01:00.0 0200: 14e4:165f`) and
 * `lsusb` lines (`... ID 0b95:1790 ...`, a USB device). Returns what it could not read too.
 */
export function parseDevices(text: string): { devices: Device[]; unreadable: string[] } {
  const devices: Device[] = [];
  const unreadable: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const usb = /\bID ([0-9a-f]{4}):([0-9a-f]{4})\b/i.exec(line);
    const nn = /\[([0-9a-f]{4})\]:.*\[([0-9a-f]{4}):([0-9a-f]{4})\]/i.exec(line);
    const n = /^\S+ ([0-9a-f]{4}): ([0-9a-f]{4}):([0-9a-f]{4})\b/i.exec(line);
    const bare = /^([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(line);
    if (usb) devices.push({ bus: 'usb', vendor: usb[1].toLowerCase(), device: usb[2].toLowerCase(), text: line });
    else if (nn) devices.push({ bus: 'pci', vendor: nn[2].toLowerCase(), device: nn[3].toLowerCase(), classCode: nn[1].toLowerCase(), text: line });
    else if (n) devices.push({ bus: 'pci', vendor: n[2].toLowerCase(), device: n[3].toLowerCase(), classCode: n[1].toLowerCase(), text: line });
    else if (bare) devices.push({ bus: 'pci', vendor: bare[1].toLowerCase(), device: bare[2].toLowerCase(), text: line });
    else unreadable.push(line);
  }
  return { devices, unreadable };
}

const PCI_ALIAS = /^pci:v([0-9A-F*?]+)d([0-9A-F*?]+)sv([0-9A-F*?]+)sd([0-9A-F*?]+)bc([0-9A-F*?]+)sc([0-9A-F*?]+)i([0-9A-F*?]*?)\*?$/;
const USB_ALIAS = /^usb:v([0-9A-F*?]+)p([0-9A-F*?]+)d/;

/** One alias field against a known value (undefined: the device does not say). */
function fieldMatches(pattern: string, value: string | undefined): 'exact' | 'any' | 'no' {
  if (/^\**$/.test(pattern)) return 'any';
  if (value === undefined) return 'any';
  const regex = new RegExp(`^${pattern.replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return regex.test(value) ? 'exact' : 'no';
}

/**
 * How well an alias claims a device: by its vendor and device IDs (2), by its class alone (1), or
 * not (0). A field the device does not give matches anything, but an alias must pin at least one
 * field the device gives: USB class drivers (usb-storage, cdc_ether) would otherwise claim every
 * USB ID, as they may once the device's interfaces are known.
 */
function aliasClaims(pattern: string, device: Device): number {
  if (device.bus === 'pci') {
    const m = PCI_ALIAS.exec(pattern);
    if (!m) return 0;
    const v = fieldMatches(m[1], `0000${device.vendor}`);
    const d = fieldMatches(m[2], `0000${device.device}`);
    const bc = fieldMatches(m[5], device.classCode?.slice(0, 2));
    const sc = fieldMatches(m[6], device.classCode?.slice(2, 4));
    if ([v, d, bc, sc].includes('no')) return 0;
    // A class-bound alias (ahci: any vendor's SATA controller) says nothing when the class is unknown.
    if (!device.classCode && !/^\**$/.test(m[5])) return 0;
    if (v === 'exact' && d === 'exact') return 2;
    return bc === 'exact' || v === 'exact' ? 1 : 0;
  }
  const m = USB_ALIAS.exec(pattern);
  if (!m) return 0;
  const v = fieldMatches(m[1], device.vendor);
  const p = fieldMatches(m[2], device.device);
  if (v === 'no' || p === 'no') return 0;
  return v === 'exact' && p === 'exact' ? 2 : v === 'exact' ? 1 : 0;
}

export interface DeviceAnswer {
  device: Device;
  /** Modules that claim it, best first (by IDs before by class), kept ones before dropped. */
  claims: Array<{ module: string; byIds: boolean }>;
}

export function lookupDevice(index: HardwareIndex, device: Device): DeviceAnswer {
  const best = new Map<string, number>();
  for (const [pattern, module] of index.ids) {
    if (!pattern.startsWith(`${device.bus}:`)) continue;
    const score = aliasClaims(pattern, device);
    if (score > (best.get(module) ?? 0)) best.set(module, score);
  }
  const claims = [...best]
    .sort(([a, s], [b, t]) => t - s || Number(index.modules[b]?.kept) - Number(index.modules[a]?.kept) || a.localeCompare(b))
    .map(([module, score]) => ({ module, byIds: score === 2 }));
  return { device, claims };
}

/** A module and what it needs, transitively (qede needs qed, which declares the firmware). */
function withDependencies(index: HardwareIndex, module: string): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of index.modules[name]?.depends ?? []) visit(dep);
  };
  visit(module);
  return [...seen];
}

/** The firmware a module and its dependencies declare, as one phrase. */
function firmwarePhrase(index: HardwareIndex, module: string): string {
  const files = withDependencies(index, module).flatMap((name) => (index.modules[name]?.firmware ?? []).map((f) => ({ ...f, via: name })));
  if (files.length === 0) return 'no firmware declared';
  const present = files.filter((f) => f.present);
  const missing = files.filter((f) => !f.present);
  const via = (f: { via: string }) => (f.via === module ? '' : ` (via ${f.via})`);
  const parts = [];
  if (present.length) parts.push(`firmware present: ${present.map((f) => `${f.file}${via(f)}`).join(', ')}`);
  if (missing.length) parts.push(`firmware missing: ${missing.map((f) => `${f.file}${via(f)}${f.why ? ` [${f.why}]` : ''}`).join(', ')}`);
  return parts.join('; ');
}

/** What keeping a dropped module costs: its size and that of its dependencies that are not kept. */
export function keepCost(index: HardwareIndex, module: string): number {
  return withDependencies(index, module)
    .filter((name) => !index.modules[name]?.kept)
    .reduce((sum, name) => sum + (index.modules[name]?.size ?? 0), 0);
}

/** One line per device for `hook hardware`. */
export function describeAnswer(index: HardwareIndex, flavorId: string, answer: DeviceAnswer): string {
  const { device, claims } = answer;
  const label = `${device.bus === 'usb' ? 'usb ' : ''}${device.vendor}:${device.device}`;
  const kept = claims.filter((c) => index.modules[c.module]?.kept);
  const dropped = claims.filter((c) => !index.modules[c.module]?.kept);
  if (kept.length > 0) {
    const main = kept[0];
    const info = index.modules[main.module];
    const others = kept.slice(1).map((c) => c.module);
    return `${label}: ${main.module} (${info.class}, kept${main.byIds ? '' : ', by device class'}); ${firmwarePhrase(index, main.module)}${others.length ? `; also claimed by ${others.join(', ')}` : ''}`;
  }
  if (dropped.length > 0) {
    const main = dropped[0];
    const info = index.modules[main.module];
    return `${label}: not driven by ${flavorId}; ${main.module} would drive it (dropped: ${info.dropped}); keeping it costs ${formatBytes(keepCost(index, main.module))} of modules`;
  }
  return `${label}: no module of ${flavorId} (kernel ${index.release}) claims it`;
}

/** An alias as people read IDs: `1077:8070`, `class 0106`, `usb 0b95:1790`, or the pattern itself. */
export function idLabel(pattern: string): string {
  const pci = PCI_ALIAS.exec(pattern);
  if (pci) {
    const hex = (field: string) => (/^[0-9A-F]{8}$/i.test(field) ? field.slice(4).toLowerCase() : undefined);
    const [vendor, device] = [hex(pci[1]), hex(pci[2])];
    if (vendor && device) return `${vendor}:${device}`;
    if (vendor) return `${vendor}:*`;
    const cls = [pci[5], pci[6], pci[7]].filter((f) => f && !f.includes('*')).join('').toLowerCase();
    return cls ? `class ${cls}` : pattern;
  }
  const usb = USB_ALIAS.exec(pattern);
  if (usb && /^[0-9A-F]{4}$/i.test(usb[1])) return `usb ${usb[1].toLowerCase()}:${/^[0-9A-F]{4}$/i.test(usb[2]) ? usb[2].toLowerCase() : '*'}`;
  return pattern;
}

/** Each module that claims bus IDs -> its IDs as people read them (`idLabel`), without repeats. */
export function idsByModule(index: HardwareIndex): Map<string, string[]> {
  const ids = new Map<string, Set<string>>();
  for (const [pattern, module] of index.ids) {
    const set = ids.get(module) ?? new Set<string>();
    set.add(idLabel(pattern));
    ids.set(module, set);
  }
  return new Map([...ids].map(([module, set]) => [module, [...set]]));
}

const CLASSES: DeviceClass[] = ['network', 'storage', 'other'];

/**
 * hardware-<OUTPUT_ID>.md: for each class, every kept module that claims bus IDs, with the IDs and
 * its firmware; then the dropped modules that claim devices, with why and what keeping one costs.
 */
export function hardwareMarkdown(index: HardwareIndex, flavorId: string): string {
  const idsOf = idsByModule(index);
  const claiming = [...idsOf.keys()].sort();
  const kept = claiming.filter((m) => index.modules[m]?.kept);
  const dropped = claiming.filter((m) => !index.modules[m]?.kept);
  const keptIds = kept.reduce((sum, m) => sum + idsOf.get(m)!.length, 0);
  const lines = [
    `# Hardware of ${flavorId} (kernel ${index.release})`,
    '',
    `${kept.length} kept modules claim ${keptIds} PCI, USB, vmbus and virtio IDs; ${dropped.length} dropped modules would claim more.`,
    `Will it drive a machine? \`./hook hardware ${flavorId} <vendor:device>\`, or paste \`lspci -nn\` into \`./hook hardware ${flavorId}\`.`,
    '',
  ];
  for (const cls of CLASSES) {
    const modules = kept.filter((m) => index.modules[m].class === cls);
    lines.push(`## ${cls[0].toUpperCase()}${cls.slice(1)} (${modules.length} modules)`, '', '| Module | Firmware | IDs |', '| --- | --- | --- |');
    for (const m of modules) lines.push(`| ${m} | ${firmwarePhrase(index, m)} | ${idsOf.get(m)!.join(', ')} |`);
    lines.push('');
  }
  lines.push(`## Dropped (${dropped.length} modules)`, '', '| Module | Class | Dropped because | IDs | Keeping it costs |', '| --- | --- | --- | ---: | ---: |');
  for (const m of dropped) lines.push(`| ${m} | ${index.modules[m].class} | ${index.modules[m].dropped} | ${idsOf.get(m)!.length} | ${formatBytes(keepCost(index, m))} |`);
  lines.push('');
  return lines.join('\n');
}
