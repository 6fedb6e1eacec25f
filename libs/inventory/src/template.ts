/**
 * Hook's template rendering: like upstream's `envsubst` with an explicit variable list, only the
 * Hook variables are replaced, in both `$NAME` and `${NAME}` forms; every other `$NAME` stays as
 * written. Unlike envsubst, a Hook variable without a value is an error (never an empty string),
 * and YAML comments are left alone (they cannot change the build, and the Nx plugin computes graph
 * edges from the same rule).
 */
import { Lexer } from 'yaml';
import { UserError } from '@hook/log';

const FIXED_VARIABLES = new Set(['HOOK_VERSION', 'HOOK_KERNEL_IMAGE', 'HOOK_KERNEL_ID', 'HOOK_KERNEL_VERSION']);
const IMAGE_VARIABLE = /^HOOK_CONTAINER_[A-Z0-9_]+_IMAGE$/;
// The longest identifier after `$` is the name, as in envsubst (`$HOOK_VERSIONX` is another name).
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** True for the names renderTemplate replaces. */
export function isTemplateVariable(name: string): boolean {
  return FIXED_VARIABLES.has(name) || IMAGE_VARIABLE.test(name);
}

/** The image variable for an images/ folder: hook-bootkit -> HOOK_CONTAINER_BOOTKIT_IMAGE. */
export function imageVariableName(folder: string): string {
  const base = folder.replace(/^hook-/, '').toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  return `HOOK_CONTAINER_${base}_IMAGE`;
}

/** Character ranges [start, end) of YAML comments in `text`. */
function commentRanges(text: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let offset = 0;
  let previous = '';
  for (const token of new Lexer().lex(text)) {
    // DOCUMENT, FLOW_END and SCALAR markers are not part of the source text.
    const synthetic = token === '\x02' || token === '\x18' || token === '\x1f';
    if (!synthetic) {
      if (token.startsWith('#') && previous !== '\x1f') ranges.push([offset, offset + token.length]);
      offset += token.length;
    }
    previous = token;
  }
  return ranges;
}

interface Reference {
  name: string;
  start: number;
  end: number;
}

function references(text: string): Reference[] {
  const comments = commentRanges(text);
  const found: Reference[] = [];
  for (const match of text.matchAll(REFERENCE)) {
    const start = match.index ?? 0;
    if (comments.some(([from, to]) => start >= from && start < to)) continue;
    const name = match[1] ?? match[2]!;
    if (isTemplateVariable(name)) found.push({ name, start, end: start + match[0].length });
  }
  return found;
}

/** The HOOK_CONTAINER_*_IMAGE variables a template uses outside comments, sorted, once each. */
export function templateImageVariables(text: string): string[] {
  const names = new Set(references(text).map((r) => r.name).filter((n) => IMAGE_VARIABLE.test(n)));
  return [...names].sort();
}

/**
 * Replaces the Hook variables in a template. `templateName` names the template in errors.
 * Throws a UserError for a Hook variable that is referenced but has no (or an empty) value.
 */
export function renderTemplate(text: string, vars: Record<string, string | undefined>, templateName = 'template'): string {
  const refs = references(text);
  const missing = [...new Set(refs.filter((r) => !vars[r.name]).map((r) => r.name))];
  if (missing.length > 0) {
    const line = lineOf(text, refs.find((r) => r.name === missing[0])!.start);
    throw new UserError(
      `${templateName}:${line}: template variable ${missing.join(', ')} has no value; ` +
        `set ${missing.length > 1 ? 'them' : 'it'} (for an image variable, build that image or give its ref)`,
    );
  }
  let out = '';
  let last = 0;
  for (const ref of refs) {
    out += text.slice(last, ref.start) + vars[ref.name];
    last = ref.end;
  }
  return out + text.slice(last);
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
