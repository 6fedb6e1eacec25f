/**
 * Kernel config files (`.config`, a defconfig, `/boot/config-*`) as option -> value maps, and
 * the list of what a HookOS kernel must have (kernel/configs/required.yaml).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { UserError } from '@hook/log';
import type { Arch } from '@hook/inventory';

/** Option name (without CONFIG_) -> value as written: `y`, `m`, `n` (for `# ... is not set`), `32`, `"text"`. */
export type KconfigValues = Map<string, string>;

const SET_LINE = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const UNSET_LINE = /^# CONFIG_([A-Za-z0-9_]+) is not set$/;

export function parseKconfig(text: string): KconfigValues {
  const values: KconfigValues = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const set = SET_LINE.exec(line);
    if (set) values.set(set[1], set[2]);
    const unset = UNSET_LINE.exec(line);
    if (unset) values.set(unset[1], 'n');
  }
  return values;
}

/** `.config` text of a value map (the order of the map). */
export function formatKconfig(values: KconfigValues): string {
  return [...values].map(([option, value]) => (value === 'n' ? `# CONFIG_${option} is not set` : `CONFIG_${option}=${value}`)).join('\n') + '\n';
}

export const REQUIRED_FILE = 'kernel/configs/required.yaml';

export type Need = 'builtin' | 'module-ok';

export interface Requirement {
  option: string;
  need: Need;
  arch?: Arch;
  /** `note`: a kernel Hook does not configure (Debian, Armbian) only gets a note when it lacks this. */
  prebuilt?: 'note';
  reason: string;
}

export interface SkipRule {
  /** A file-name glob in kernel/configs (`*` only). */
  configs: string;
  reason: string;
}

export interface RequiredList {
  options: Requirement[];
  skip: SkipRule[];
}

const ENTRY_FIELDS = ['option', 'need', 'arch', 'prebuilt', 'reason'];

/** Reads and validates kernel/configs/required.yaml; a mistake is one line with the entry. */
export async function readRequiredList(workspaceRoot: string): Promise<RequiredList> {
  const text = await readFile(join(workspaceRoot, REQUIRED_FILE), 'utf8').catch(() => {
    throw new UserError(`${REQUIRED_FILE} is missing: it lists what a HookOS kernel must have (see kernel/configs/README.md)`);
  });
  return parseRequiredList(text);
}

export function parseRequiredList(text: string): RequiredList {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new UserError(`${REQUIRED_FILE}: ${doc.errors[0].message.split('\n')[0]}`);
  const data = doc.toJS() as { options?: unknown; skip?: unknown } | null;
  if (!data || !Array.isArray(data.options)) throw new UserError(`${REQUIRED_FILE}: needs an 'options:' list`);
  const seen = new Set<string>();
  const options = data.options.map((entry: Record<string, unknown>, index: number): Requirement => {
    const where = `${REQUIRED_FILE}: options entry ${index + 1}${typeof entry?.option === 'string' ? ` (${entry.option})` : ''}`;
    if (!entry || typeof entry !== 'object') throw new UserError(`${where}: must be a mapping with option, need and reason`);
    const unknown = Object.keys(entry).find((key) => !ENTRY_FIELDS.includes(key));
    if (unknown) throw new UserError(`${where}: unknown field '${unknown}'; fields are ${ENTRY_FIELDS.join(', ')}`);
    const { option, need, arch, prebuilt, reason } = entry;
    if (typeof option !== 'string' || !/^[A-Z0-9_]+$/.test(option) || option.startsWith('CONFIG_')) throw new UserError(`${where}: option must be a Kconfig symbol without CONFIG_, e.g. SERIAL_8250_CONSOLE`);
    if (need !== 'builtin' && need !== 'module-ok') throw new UserError(`${where}: need must be builtin (=y) or module-ok (=y or =m)`);
    if (arch !== undefined && arch !== 'x86_64' && arch !== 'aarch64') throw new UserError(`${where}: arch must be x86_64 or aarch64 (or left out for every architecture)`);
    if (prebuilt !== undefined && prebuilt !== 'note') throw new UserError(`${where}: prebuilt can only be 'note'`);
    if (typeof reason !== 'string' || !reason.trim() || reason.includes('\n')) throw new UserError(`${where}: reason must be one line saying why HookOS needs it`);
    const key = `${option}/${arch ?? '*'}`;
    if (seen.has(key)) throw new UserError(`${where}: listed twice`);
    seen.add(key);
    return { option, need, reason: reason.trim(), ...(arch ? { arch } : {}), ...(prebuilt ? { prebuilt } : {}) };
  });
  const skip = (Array.isArray(data.skip) ? data.skip : []).map((rule: Record<string, unknown>, index: number): SkipRule => {
    if (typeof rule?.configs !== 'string' || typeof rule?.reason !== 'string') throw new UserError(`${REQUIRED_FILE}: skip entry ${index + 1} needs configs (a file-name glob) and reason`);
    return { configs: rule.configs, reason: rule.reason };
  });
  return { options, skip };
}

/** The skip rule that covers a defconfig file name, if any. */
export function skipRuleFor(list: RequiredList, fileName: string): SkipRule | undefined {
  return list.skip.find((rule) => globMatches(rule.configs, fileName));
}

function globMatches(glob: string, name: string): boolean {
  const pattern = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${pattern}$`).test(name);
}
