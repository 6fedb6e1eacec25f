import { suggest } from '@hook/log';
/**
 * A small validator for the JSON-schema subset in schema.ts. It reports every problem with the
 * path of the offending value (`services[3].capabilites`), so callers can point at the YAML line.
 */
import { type SchemaNode, definitions } from './schema';

export type ValuePath = Array<string | number>;

export interface Problem {
  path: ValuePath;
  message: string;
  /** True when the problem is the key itself (unknown key), not its value. */
  atKey?: boolean;
}

export function validateValue(value: unknown, schema: SchemaNode, path: ValuePath = []): Problem[] {
  const problems: Problem[] = [];
  check(value, schema, path, problems);
  return problems;
}

function resolve(schema: SchemaNode): SchemaNode {
  let current = schema;
  for (let depth = 0; current.$ref && depth < 10; depth++) {
    const target = definitions[current.$ref];
    if (!target) throw new Error(`schema: unknown definition ${current.$ref}`);
    current = target;
  }
  return current;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

const WANTED: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string (quote it)',
  integer: 'an integer',
  boolean: 'true or false',
};

function matchesType(value: unknown, type: NonNullable<SchemaNode['type']>): boolean {
  switch (type) {
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
  }
}

function check(value: unknown, rawSchema: SchemaNode, path: ValuePath, problems: Problem[]): void {
  const schema = resolve(rawSchema);
  if (schema.anyOf) {
    const ok = schema.anyOf.some((option) => validateValue(value, option, path).length === 0);
    if (!ok) {
      const kinds = schema.anyOf.map((o) => resolve(o).type).filter(Boolean);
      problems.push({ path, message: `must be ${kinds.join(' or ')}, not ${typeName(value)}` });
    }
    return;
  }
  if (schema.enum && !(typeof value === 'string' && schema.enum.includes(value))) {
    problems.push({ path, message: `must be one of ${schema.enum.join(', ')}, not ${JSON.stringify(value)}` });
    return;
  }
  if (schema.type && !matchesType(value, schema.type)) {
    problems.push({ path, message: `must be ${WANTED[schema.type]}, not ${typeName(value)}` });
    return;
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => check(item, schema.items!, [...path, i], problems));
    return;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!(key in record)) problems.push({ path, message: `missing required key '${key}'` });
    }
    const known = schema.properties ?? {};
    for (const [key, item] of Object.entries(record)) {
      if (known[key]) {
        check(item, known[key], [...path, key], problems);
      } else if (schema.additionalProperties === false) {
        const hint = suggest(key, Object.keys(known));
        problems.push({ path: [...path, key], atKey: true, message: `unknown key${hint ? ` (did you mean ${hint}?)` : ''}` });
      } else if (schema.additionalProperties) {
        check(item, schema.additionalProperties, [...path, key], problems);
      }
    }
  }
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
