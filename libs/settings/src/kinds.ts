/**
 * The kinds of setting and their parsers. A parser gets the raw value (unset and blank are the
 * same: the default) and returns the typed value, or throws a UserError of one line that names
 * the setting, what it got and what it takes.
 */
import { UserError } from '@hook/log';

/**
 * Whose Nx hash a setting enters: `flavor` is a flavor's build and ISO, `iso` the ISO alone,
 * `kernel` every kernel (`kernel:<METHOD>` the kernels of one method), `image` every image build,
 * `bootable` every bootable medium (`bootable:<HANDLER>` one handler's), `test` every test target
 * (nx.json's jestRun).
 */
export type HashKind = 'flavor' | 'iso' | 'kernel' | `kernel:${'default' | 'armbian' | 'debian'}` | 'image' | 'bootable' | `bootable:${string}` | 'test';

/** Where a setting belongs (the README's and `hook settings`' sections). */
export type SettingGroup = 'general' | 'build' | 'kernel' | 'images' | 'media' | 'run' | 'ci' | 'test';

export interface SettingDefinition<T> {
  kind: 'yes/no' | 'number' | 'choice' | 'text' | 'path' | 'list';
  group: SettingGroup;
  /** The default as a user reads it (`hook settings`, the README); '' when there is none. */
  defaultText: string;
  /** What it does, one line. */
  doc: string;
  hashes: readonly HashKind[];
  parse(raw: string | undefined, name: string): T;
}

interface Common {
  group: SettingGroup;
  doc: string;
  hashes?: readonly HashKind[];
}

const blank = (raw: string | undefined): raw is undefined => raw === undefined || raw.trim() === '';

/** The parts every kind shares; `hashes` defaults to none. */
function define<T>(kind: SettingDefinition<T>['kind'], common: Common, defaultText: string, parse: SettingDefinition<T>['parse']): SettingDefinition<T> {
  return { kind, defaultText, hashes: [], ...common, parse };
}

/** yes or no, any case (upstream's DO_PUSH=yes style); anything else is a mistake to hear about. */
export function yesNo(fallback: 'yes' | 'no', common: Common): SettingDefinition<boolean> {
  return define('yes/no', common, fallback, (raw, name) => {
    const value = blank(raw) ? fallback : raw.trim().toLowerCase();
    if (value === 'yes') return true;
    if (value === 'no') return false;
    throw new UserError(`${name} is '${raw}'; use yes or no`);
  });
}

type NumberOptions = Common & { min: number; max?: number; defaultText?: string };

/** A whole number in [min, max]; without a default an unset setting is `undefined`. */
export function whole(options: NumberOptions & { fallback: number }): SettingDefinition<number>;
export function whole(options: NumberOptions): SettingDefinition<number | undefined>;
export function whole(options: NumberOptions & { fallback?: number }): SettingDefinition<number | undefined> {
  const { min, max, fallback, defaultText, ...common } = options;
  const range = max === undefined ? `${min} or more` : `${min}..${max}`;
  return define('number', common, defaultText ?? (fallback === undefined ? '' : String(fallback)), (raw, name) => {
    if (blank(raw)) return fallback;
    const value = raw.trim();
    if (!/^\d+$/.test(value) || Number(value) < min || (max !== undefined && Number(value) > max)) {
      throw new UserError(`${name} is '${raw}'; use a whole number, ${range}`);
    }
    return Number(value);
  });
}

/** One of a few words; without a default an unset setting is `undefined`. */
type ChoiceOptions = Common & { defaultText?: string; /** How the error names the values, e.g. `uefi (OVMF) or bios (SeaBIOS)`. */ valuesText?: string };

export function choice<const V extends string>(values: readonly V[], options: ChoiceOptions & { fallback: V }): SettingDefinition<V>;
export function choice<const V extends string>(values: readonly V[], options: ChoiceOptions): SettingDefinition<V | undefined>;
export function choice<const V extends string>(values: readonly V[], options: ChoiceOptions & { fallback?: V }): SettingDefinition<V | undefined> {
  const { fallback, defaultText, valuesText, ...common } = options;
  return define('choice', common, defaultText ?? fallback ?? '', (raw, name) => {
    if (blank(raw)) return fallback;
    const found = values.find((v) => v.toLowerCase() === raw.trim().toLowerCase());
    if (found === undefined) throw new UserError(`${name} is '${raw}'; use ${valuesText ?? values.join(', ').replace(/, ([^,]+)$/, ' or $1')}`);
    return found;
  });
}

type TextOptions = Common & { pattern?: RegExp; patternText?: string; defaultText?: string };

/** Free text (a name, an image reference, a URL); `pattern` rejects what cannot work. */
export function text(options: TextOptions & { fallback: string }): SettingDefinition<string>;
export function text(options: TextOptions): SettingDefinition<string | undefined>;
export function text(options: TextOptions & { fallback?: string }): SettingDefinition<string | undefined> {
  const { fallback, pattern, patternText, defaultText, ...common } = options;
  return define('text', common, defaultText ?? fallback ?? '', (raw, name) => {
    if (blank(raw)) return fallback;
    if (pattern && !pattern.test(raw)) throw new UserError(`${name} is '${raw}'; use ${patternText ?? `a value matching ${pattern}`}`);
    return raw;
  });
}

/** A file or folder path, as given (relative paths are resolved by whoever uses it). */
export function path(options: Common & { fallback: string; defaultText?: string }): SettingDefinition<string>;
export function path(options: Common & { defaultText?: string }): SettingDefinition<string | undefined>;
export function path(options: Common & { fallback?: string; defaultText?: string }): SettingDefinition<string | undefined> {
  const { fallback, defaultText, ...common } = options;
  return define('path', common, defaultText ?? fallback ?? '', (raw) => (blank(raw) ? fallback : raw));
}

/** Words separated by commas or spaces. */
export function list(options: Common & { fallback: readonly string[] }): SettingDefinition<string[]> {
  const { fallback, ...common } = options;
  return define('list', common, fallback.join(' '), (raw) => (blank(raw) ? [...fallback] : raw.split(/[\s,]+/).filter(Boolean)));
}
