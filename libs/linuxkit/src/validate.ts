/**
 * Checks values against the LinuxKit schema (moby.schema.json) with ajv, and turns ajv's errors
 * into problems with the path of the offending value (`services[3].capabilites`), so callers
 * can point at the YAML line. Messages say what is wanted and what was found, and an unknown
 * key gets a "did you mean" from the keys the schema allows there. Problems come in document
 * order, so the first one reported is the first in the file.
 */
import Ajv, { type ErrorObject } from 'ajv';
import { suggest } from '@hook/log';
import { mobySchema, type SchemaName } from './schema';

export type ValuePath = Array<string | number>;

export interface Problem {
  path: ValuePath;
  message: string;
  /** True when the problem is the key itself (unknown key), not its value. */
  atKey?: boolean;
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
ajv.addSchema(mobySchema);

function validatorFor(name: SchemaName) {
  const ref = name === 'moby' ? mobySchema.$id! : `${mobySchema.$id}#/definitions/${name}`;
  const validate = ajv.getSchema(ref);
  if (!validate) throw new Error(`schema: unknown definition ${name}`);
  return validate;
}

export function validateValue(value: unknown, schema: SchemaName): Problem[] {
  const validate = validatorFor(schema);
  if (validate(value)) return [];
  return toProblems(validate.errors ?? [], value);
}

const WANTED: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string (quote it)',
  integer: 'an integer',
  boolean: 'true or false',
};

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

/** `/services/3/name` -> ['services', 3, 'name'] (indexes of lists as numbers). */
function pathOf(instancePath: string, root: unknown): ValuePath {
  const path: ValuePath = [];
  let current = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key: string | number = Array.isArray(current) ? Number(part) : part;
    path.push(key);
    current = current !== null && typeof current === 'object' ? (current as Record<string | number, unknown>)[key] : undefined;
  }
  return path;
}

function toProblems(errors: ErrorObject[], root: unknown): Problem[] {
  // An anyOf reports why each of its options failed too: one line for the anyOf says it all.
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf');
  const inAnyOf = (e: ErrorObject) => anyOfs.some((a) => a !== e && e.instancePath === a.instancePath && e.schemaPath.startsWith(`${a.schemaPath}/`));
  const problems: Array<Problem & { required?: boolean }> = [];
  for (const error of errors) {
    if (inAnyOf(error)) continue;
    const path = pathOf(error.instancePath, root);
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'additionalProperties': {
        const key = String(params.additionalProperty);
        const allowed = Object.keys((error.parentSchema as { properties?: object }).properties ?? {});
        const hint = suggest(key, allowed);
        problems.push({ path: [...path, key], atKey: true, message: `unknown key${hint ? ` (did you mean ${hint}?)` : ''}` });
        break;
      }
      case 'required':
        problems.push({ path, required: true, message: `missing required key '${String(params.missingProperty)}'` });
        break;
      case 'type':
        problems.push({ path, message: `must be ${WANTED[String(params.type)] ?? String(params.type)}, not ${typeName(error.data)}` });
        break;
      case 'enum':
        problems.push({ path, message: `must be one of ${(params.allowedValues as string[]).join(', ')}, not ${JSON.stringify(error.data)}` });
        break;
      case 'anyOf': {
        const kinds = (error.schema as Array<{ type?: string }>).map((option) => option.type).filter(Boolean);
        problems.push({ path, message: `must be ${kinds.join(' or ')}, not ${typeName(error.data)}` });
        break;
      }
      default:
        problems.push({ path, message: error.message ?? error.keyword });
    }
  }
  return inDocumentOrder(problems, root).map(({ required: _required, ...problem }) => problem);
}

/** Sorts by where the value is in the document: keys in their order, a mapping's missing keys first. */
function inDocumentOrder<T extends Problem & { required?: boolean }>(problems: T[], root: unknown): T[] {
  const position = (problem: T): number[] => {
    const indexes: number[] = [];
    let current = root;
    for (const key of problem.path) {
      const index = Array.isArray(current) ? Number(key) : Object.keys((current ?? {}) as object).indexOf(String(key));
      indexes.push(index);
      current = current !== null && typeof current === 'object' ? (current as Record<string | number, unknown>)[key] : undefined;
    }
    // At one path, a missing key is reported before the values inside the mapping.
    return problem.required ? [...indexes, -1] : indexes;
  };
  const keyed = problems.map((problem, order) => ({ problem, at: position(problem), order }));
  keyed.sort((a, b) => {
    for (let i = 0; i < Math.min(a.at.length, b.at.length); i++) if (a.at[i] !== b.at[i]) return a.at[i]! - b.at[i]!;
    return a.at.length - b.at.length || a.order - b.order;
  });
  return keyed.map((k) => k.problem);
}

/** `services[3].capabilites` */
export function formatPath(path: ValuePath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out || '(top level)';
}
