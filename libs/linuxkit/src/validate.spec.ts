import Ajv from 'ajv';
import { mobySchema } from './schema';
import { formatPath, validateValue } from './validate';

const messages = (value: unknown) => validateValue(value, 'moby').map((p) => `${formatPath(p.path)}: ${p.message}`);

describe('the LinuxKit schema (moby.schema.json, checked by ajv)', () => {
  it('is a valid draft-07 JSON Schema document', () => {
    expect(new Ajv({ strict: true }).validateSchema(mobySchema)).toBe(true);
  });

  it('says what is wanted and what was found, one line per problem, in document order', () => {
    expect(
      messages({
        init: ['x', 3],
        onboot: [{ name: 'a', image: 'b', uid: true, capabilites: [] }],
        services: [{ image: 'c' }],
        volumes: [{ name: 'v', format: 'zip' }],
      }),
    ).toEqual([
      'init[1]: must be a string (quote it), not an integer',
      'onboot[0].uid: must be string or integer, not a boolean',
      'onboot[0].capabilites: unknown key (did you mean capabilities?)',
      "services[0]: missing required key 'name'",
      'volumes[0].format: must be one of oci, filesystem, not "zip"',
    ]);
  });

  it('checks one definition on its own (an image label is an `image`)', () => {
    expect(validateValue({ name: 'n', image: 'i', readonly: 'yes' }, 'image')).toEqual([{ path: ['readonly'], message: 'must be true or false, not a string' }]);
    expect(validateValue({ name: 'n', image: 'i', sysctl: { 'net.ipv4.ip_forward': '1' } }, 'image')).toEqual([]);
  });
});
