/**
 * One CycloneDX 1.6 JSON document per build output, made with the OWASP CycloneDX library
 * (models, JSON serialiser, schema validator) rather than hand-built JSON. Documents are
 * byte-identical for the same inputs: lists are sorted, there is no timestamp, and the serial
 * number is derived from the document's own content.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { Enums, Models, Serialize, Spec, Validation } from '@cyclonedx/cyclonedx-library';

export { Enums, Models } from '@cyclonedx/cyclonedx-library';

export const SPEC_VERSION = Spec.Version.v1dot6;
const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));

/** The tool named in every document's metadata. */
export const TOOL_NAME = 'hook';

/** A new document whose main component (what the document describes) is `subject`. */
export function newBom(subject: Models.Component): Models.Bom {
  const bom = new Models.Bom();
  bom.metadata.component = subject;
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, TOOL_NAME, { group: 'tinkerbell' }));
  return bom;
}

/** `urn:uuid:` from a sha256 (version 5 layout bits, as a name-based UUID). */
export function uuidFromDigest(hex: string): string {
  const bytes = Buffer.from(hex.slice(0, 32), 'hex');
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const h = bytes.toString('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The document as JSON (2 spaces, final newline), sorted, with a serial number taken from its content. */
export function serializeBom(bom: Models.Bom): string {
  bom.serialNumber = undefined;
  const content = serializer.serialize(bom, { sortLists: true });
  bom.serialNumber = uuidFromDigest(createHash('sha256').update(content).digest('hex'));
  return `${serializer.serialize(bom, { sortLists: true, space: 2 })}\n`;
}

/** Validates a document against the CycloneDX 1.6 JSON schema the library ships; the errors, or null. */
export async function validateBomJson(json: string): Promise<unknown> {
  return new Validation.JsonStrictValidator(SPEC_VERSION).validate(json);
}

/** Writes the document to `path` through a temporary name, so a reader never sees half of it. */
export async function writeBom(path: string, bom: Models.Bom): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, serializeBom(bom));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** A SHA-256 hash list for a component. */
export function sha256Hashes(hex: string): Models.HashDictionary {
  return new Models.HashDictionary([[Enums.HashAlgorithm['SHA-256'], hex]]);
}

/** Properties under Hook's own namespace (`hook:<name>`), skipping empty values. */
export function hookProperties(values: Record<string, string | number | undefined>): Models.PropertyRepository {
  const properties = new Models.PropertyRepository();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== '') properties.add(new Models.Property(`hook:${name}`, String(value)));
  }
  return properties;
}
