/**
 * Reads and validates inventory YAML. Every problem is a UserError that names the file, the
 * line and the field, so a typo in flavor.yaml is one readable line, not a stack trace.
 */
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node, type YAMLMap } from 'yaml';
import { UserError, suggest, yamlErrorLine } from '@hook/log';
import { BOOTABLE_FIELDS, type FieldSpec } from './schema';

export type Fields = Record<string, unknown>;

interface Located {
  file: string;
  lines: LineCounter;
}

export function parseYamlMapping(text: string, file: string): { map: YAMLMap; where: Located } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const shown = yamlErrorLine(err, err.linePos?.[0]?.line ?? 0);
    throw new UserError(`${file}${shown.line ? `:${shown.line}` : ''}: invalid YAML: ${shown.message}`);
  }
  if (!isMap(doc.contents)) {
    throw new UserError(`${file}: expected a mapping of KEY: value pairs at the top level`);
  }
  return { map: doc.contents, where: { file, lines } };
}

function lineOf(where: Located, node: Node | null | undefined): string {
  const offset = node?.range?.[0];
  if (offset === undefined) return where.file;
  return `${where.file}:${where.lines.linePos(offset).line}`;
}

/** Validates a mapping against field specs; returns plain values with tags as arrays. */
export function validateFields(map: YAMLMap, specs: Record<string, FieldSpec>, where: Located, context = ''): Fields {
  const result: Fields = {};
  const known = Object.keys(specs);
  for (const pair of map.items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const spec = specs[key];
    const at = lineOf(where, keyNode);
    if (!spec) {
      const hint = suggest(key, known);
      throw new UserError(
        `${at}: unknown key '${context}${key}'${hint ? ` (did you mean ${hint}?)` : ''}; valid keys are ${known.join(', ')}`,
      );
    }
    result[key] = convert(pair.value as Node | null, spec, `${context}${key}`, where);
  }
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.required && result[key] === undefined) {
      throw new UserError(`${lineOf(where, map)}: missing required key '${context}${key}'`);
    }
  }
  return result;
}

function convert(node: Node | null, spec: FieldSpec, name: string, where: Located): unknown {
  const at = lineOf(where, node);
  const value = isScalar(node) ? node.value : node === null ? null : undefined;
  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string' || value === '') {
        throw new UserError(`${at}: '${name}' must be a non-empty string${describe(node)}`);
      }
      if (spec.values && !spec.values.includes(value)) {
        throw new UserError(`${at}: '${name}' is '${value}'; it must be one of ${spec.values.join(', ')}`);
      }
      if (spec.pattern && !spec.pattern.test(value)) {
        throw new UserError(`${at}: '${name}' is '${value}', which does not match ${spec.pattern}`);
      }
      return value;
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        throw new UserError(`${at}: '${name}' must be a whole number${describe(node)}`);
      }
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') {
        throw new UserError(`${at}: '${name}' must be true or false${describe(node)}`);
      }
      return value;
    case 'tags': {
      // Upstream writes TAG='standard armbian-uefi'; a YAML list is the typed form. Both work.
      let tags: unknown[];
      if (typeof value === 'string') tags = value.split(/\s+/).filter(Boolean);
      else if (isSeq(node)) tags = node.items.map((item) => (isScalar(item) ? item.value : undefined));
      else throw new UserError(`${at}: '${name}' must be a list of tags${describe(node)}`);
      if (tags.length === 0 || tags.some((t) => typeof t !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(t))) {
        throw new UserError(`${at}: '${name}' must be a non-empty list of lowercase tags like [standard]`);
      }
      return tags;
    }
    case 'bootables': {
      if (!isSeq(node)) throw new UserError(`${at}: '${name}' must be a list of bootables${describe(node)}`);
      return node.items.map((item, index) => {
        if (!isMap(item)) throw new UserError(`${lineOf(where, item as Node)}: '${name}[${index}]' must be a mapping`);
        return validateFields(item, BOOTABLE_FIELDS, where, `${name}[${index}].`);
      });
    }
  }
}

function describe(node: Node | null): string {
  if (node === null) return ', not empty';
  if (isScalar(node)) return `, not ${JSON.stringify(node.value)}`;
  if (isSeq(node)) return ', not a list';
  if (isMap(node)) return ', not a mapping';
  return '';
}
