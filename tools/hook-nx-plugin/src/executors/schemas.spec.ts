/** Every executor documents its options: schema.json with `required`, schema.d.ts beside it. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OUTPUT_FORMATS } from '@hook/hookos';

const pluginRoot = join(__dirname, '../..');
const executors = JSON.parse(readFileSync(join(pluginRoot, 'executors.json'), 'utf8')).executors as Record<string, { implementation: string; schema: string; description: string }>;

describe('executor schemas', () => {
  it.each(Object.keys(executors))('%s has a described schema.json with required options and a schema.d.ts', (name) => {
    const schemaPath = join(pluginRoot, executors[name].schema);
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
    expect(executors[name].description).toMatch(/^[A-Z].{20,}/);
    expect(schema.required.length).toBeGreaterThan(0);
    for (const option of schema.required) expect(schema.properties[option]).toBeDefined();
    for (const [option, spec] of Object.entries(schema.properties as Record<string, { description?: string }>)) {
      expect([option, spec.description]).toEqual([option, expect.stringMatching(/\w/)]);
    }
    expect(schema.additionalProperties).toBe(false);
    expect(existsSync(join(schemaPath, '..', 'schema.d.ts'))).toBe(true);
  });

  it('offers exactly the formats the flavor build writes', () => {
    const schema = JSON.parse(readFileSync(join(pluginRoot, executors['linuxkit-build'].schema), 'utf8'));
    expect(schema.properties.format.enum).toEqual(Object.keys(OUTPUT_FORMATS));
  });
});
