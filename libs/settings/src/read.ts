/**
 * Reading settings: `setting(env, NAME)` is the one way Hook reads a setting from the
 * environment, typed by its kind, its default applied, a bad value one UserError line.
 */
import type { HashKind, SettingDefinition, SettingGroup } from './kinds';
import { SETTINGS, type SettingName } from './registry';

type ValueOf<D> = D extends SettingDefinition<infer T> ? T : never;
export type SettingValue<N extends SettingName> = ValueOf<(typeof SETTINGS)[N]>;

export function setting<N extends SettingName>(env: NodeJS.ProcessEnv, name: N): SettingValue<N> {
  const definition = SETTINGS[name] as SettingDefinition<SettingValue<N>>;
  return definition.parse(env[name], name);
}

/**
 * A setting of a family whose names are made at run time (`CI_RUNNER_<TYPE>_<ARCH>`): read
 * like its registered head.
 */
export function familySetting<N extends SettingName>(env: NodeJS.ProcessEnv, head: N, name: string): SettingValue<N> {
  if (name !== head && !name.startsWith(`${head}_`)) throw new Error(`${name} is not of the ${head} family`);
  const definition = SETTINGS[head] as SettingDefinition<SettingValue<N>>;
  return definition.parse(env[name], name);
}

/**
 * Checks the yes/no settings (DO_PUSH=true once meant "no push" without a word) and the named
 * ones (a command line's KEY=VALUE) at once, so a typo stops a build before it starts. Other
 * settings are checked where they are read: some have common names (MAC, BOARD) that an
 * unrelated environment may hold.
 */
export function checkSettings(env: NodeJS.ProcessEnv, given: readonly string[] = []): void {
  for (const name of settingNames()) {
    if (SETTINGS[name].kind === 'yes/no' || given.includes(name)) setting(env, name);
  }
}

/** Whether the environment gives the setting a value (blank is unset). */
export function isSet(env: NodeJS.ProcessEnv, name: SettingName): boolean {
  return (env[name] ?? '').trim() !== '';
}

export function settingNames(): SettingName[] {
  return Object.keys(SETTINGS) as SettingName[];
}

export function isSettingName(name: string): name is SettingName {
  return Object.prototype.hasOwnProperty.call(SETTINGS, name);
}

export function definitionOf(name: SettingName): SettingDefinition<unknown> {
  return SETTINGS[name];
}

/**
 * The settings in the hash of a target kind: the kind itself and its qualified forms
 * (`kernel` also gives `kernel:source` to a kernel of METHOD source when `qualifier` is given).
 */
export function hashedSettings(kind: 'flavor' | 'iso' | 'kernel' | 'image' | 'bootable' | 'test', qualifier?: string): SettingName[] {
  const wanted = new Set<HashKind>([kind, ...(qualifier ? [`${kind}:${qualifier}` as HashKind] : [])]);
  return settingNames().filter((name) => SETTINGS[name].hashes.some((h: HashKind) => wanted.has(h)));
}

/** Nx `{ env }` inputs for a target kind (see hashedSettings). */
export function envInputs(kind: Parameters<typeof hashedSettings>[0], qualifier?: string): { env: SettingName }[] {
  return hashedSettings(kind, qualifier).map((name) => ({ env: name }));
}

export const GROUP_TITLES: Record<SettingGroup, string> = {
  general: 'General',
  build: 'Building HookOS',
  kernel: 'Kernels',
  images: 'Container images',
  media: 'Bootable media and the Tinkerbell command line',
  run: 'Running HookOS',
  ci: 'CI matrix',
  test: 'Tests',
};

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The README's configuration tables: one per group, a row per setting. */
export function settingsMarkdown(): string {
  const out: string[] = [];
  for (const [group, title] of Object.entries(GROUP_TITLES)) {
    out.push(`### ${title}`, '', '| Variable | Default | Effect |', '|---|---|---|');
    for (const name of settingNames().filter((n) => SETTINGS[n].group === group)) {
      const d = SETTINGS[name];
      const fallback = d.defaultText === '' ? '' : /`/.test(d.defaultText) || /^(the|every|host) /.test(d.defaultText) || / /.test(d.defaultText) ? d.defaultText : `\`${d.defaultText}\``;
      out.push(`| \`${name}\` | ${cell(fallback)} | ${cell(d.doc)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** `hook settings`: each setting with its value here (or its default) and what it does. */
export function settingsListing(env: NodeJS.ProcessEnv): string {
  const out: string[] = [];
  for (const [group, title] of Object.entries(GROUP_TITLES)) {
    out.push(`${title}:`);
    for (const name of settingNames().filter((n) => SETTINGS[n].group === group)) {
      const d = SETTINGS[name];
      const raw = env[name];
      const value = raw !== undefined && raw.trim() !== '' ? `${name}=${/PASSWORD/.test(name) ? '***' : raw}` : `${name} (default: ${d.defaultText.replace(/`/g, '') || 'unset'})`;
      out.push(`  ${value}`, `      ${d.doc.replace(/`/g, '')}`);
    }
    out.push('');
  }
  return out.join('\n');
}
