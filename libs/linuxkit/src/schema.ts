/**
 * LinuxKit's YAML schema (v1.8.2, src/cmd/linuxkit/moby/schema.go) as a JSON Schema document,
 * moby.schema.json (draft-07: the same keys and types as LinuxKit, so a file accepted here is
 * accepted there). validate.ts checks values against it with ajv.
 */
import document from './moby.schema.json';

/** The whole document: the top level of a LinuxKit YAML, with its definitions. */
export const mobySchema = document;

/** The definitions by name (`image` is one onboot/service entry, also an image's label). */
export const definitions = document.definitions;

/** What validateValue can check a value against: the top level, or one definition. */
export type SchemaName = 'moby' | keyof typeof document.definitions;
