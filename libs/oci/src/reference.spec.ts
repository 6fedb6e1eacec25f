import { UserError } from '@hook/log';
import { InvalidReferenceError, parseImageReference, parseNormalizedNamed, registryHostFromSetting, registryMatches } from './reference';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseNormalizedNamed (distribution/reference rules)', () => {
  // input, domain, path, tag, digest, familiar string
  const valid: Array<[string, string, string, string | undefined, string | undefined, string]> = [
    ['ubuntu', 'docker.io', 'library/ubuntu', undefined, undefined, 'ubuntu'],
    ['ubuntu:22.04', 'docker.io', 'library/ubuntu', '22.04', undefined, 'ubuntu:22.04'],
    ['library/ubuntu', 'docker.io', 'library/ubuntu', undefined, undefined, 'ubuntu'],
    ['docker.io/ubuntu', 'docker.io', 'library/ubuntu', undefined, undefined, 'ubuntu'],
    ['docker.io/library/ubuntu:1', 'docker.io', 'library/ubuntu', '1', undefined, 'ubuntu:1'],
    ['index.docker.io/ubuntu', 'docker.io', 'library/ubuntu', undefined, undefined, 'ubuntu'],
    ['index.docker.io/user/app:v1', 'docker.io', 'user/app', 'v1', undefined, 'user/app:v1'],
    ['user/app', 'docker.io', 'user/app', undefined, undefined, 'user/app'],
    ['library/a/b', 'docker.io', 'library/a/b', undefined, undefined, 'library/a/b'],
    ['quay.io/tinkerbell/hook-bootkit:v1.0', 'quay.io', 'tinkerbell/hook-bootkit', 'v1.0', undefined, 'quay.io/tinkerbell/hook-bootkit:v1.0'],
    ['ghcr.io/a/b/c/d', 'ghcr.io', 'a/b/c/d', undefined, undefined, 'ghcr.io/a/b/c/d'],
    ['localhost/app', 'localhost', 'app', undefined, undefined, 'localhost/app'],
    ['localhost:5000/app:t', 'localhost:5000', 'app', 't', undefined, 'localhost:5000/app:t'],
    ['myreg:5000/app', 'myreg:5000', 'app', undefined, undefined, 'myreg:5000/app'],
    ['127.0.0.1:5000/x/y', '127.0.0.1:5000', 'x/y', undefined, undefined, '127.0.0.1:5000/x/y'],
    ['[::1]:5000/app', '[::1]:5000', 'app', undefined, undefined, '[::1]:5000/app'],
    ['[2001:db8::1]/app', '[2001:db8::1]', 'app', undefined, undefined, '[2001:db8::1]/app'],
    ['Example.com/app', 'Example.com', 'app', undefined, undefined, 'Example.com/app'],
    ['EXAMPLE/app', 'EXAMPLE', 'app', undefined, undefined, 'EXAMPLE/app'],
    ['ubuntu@' + D, 'docker.io', 'library/ubuntu', undefined, D, 'ubuntu@' + D],
    ['ubuntu:22.04@' + D, 'docker.io', 'library/ubuntu', '22.04', D, 'ubuntu:22.04@' + D],
    ['reg.io/a__b/c-d--e/f.g_h', 'reg.io', 'a__b/c-d--e/f.g_h', undefined, undefined, 'reg.io/a__b/c-d--e/f.g_h'],
    ['foo:5000', 'docker.io', 'library/foo', '5000', undefined, 'foo:5000'],
    ['localhost', 'docker.io', 'library/localhost', undefined, undefined, 'localhost'],
    ['a/b:' + 'T'.repeat(128), 'docker.io', 'a/b', 'T'.repeat(128), undefined, 'a/b:' + 'T'.repeat(128)],
  ];
  it.each(valid)('%s', (input, domain, path, tag, digest, familiar) => {
    const ref = parseNormalizedNamed(input);
    expect({ domain: ref.domain, path: ref.path, tag: ref.tag, digest: ref.digest }).toEqual({ domain, path, tag, digest });
    expect(ref.familiarString()).toBe(familiar);
    // normalising the normalised form changes nothing
    expect(parseNormalizedNamed(ref.toString()).toString()).toBe(ref.toString());
  });

  const invalid: Array<[string, RegExp]> = [
    ['', /at least one component/],
    ['Ubuntu', /must be lowercase/],
    ['docker.io/Library/ubuntu', /must be lowercase/],
    ['reg.io/App', /must be lowercase/],
    ['a'.repeat(64), /64-byte hexadecimal/],
    ['reg.io/' + 'a'.repeat(256), /not be more than 255 characters/],
    ['ubuntu:' + 'x'.repeat(129), /invalid reference format/],
    ['ubuntu:-bad', /invalid reference format/],
    ['ubuntu@sha256:abc', /invalid reference format/],
    ['ubuntu@sha256:' + 'a'.repeat(63), /invalid checksum digest length/],
    ['ubuntu@sha256:' + 'A'.repeat(64), /invalid checksum digest format/],
    ['ubuntu@md5:' + 'a'.repeat(32), /unsupported digest algorithm/],
    ['reg.io/a//b', /invalid reference format/],
    ['reg.io/a/', /invalid reference format/],
    ['-reg.io/a', /invalid reference format/],
    ['reg.io:port/a', /invalid reference format/],
    ['reg.io/a_-b', /invalid reference format/],
    ['reg.io/a___b', /invalid reference format/],
    ['https://reg.io/a', /invalid reference format/],
    ['[::1/a', /invalid reference format/],
    ['evil.com/../reg.io/a', /invalid reference format/],
  ];
  it.each(invalid)('rejects %s', (input, why) => {
    expect(() => parseNormalizedNamed(input)).toThrow(InvalidReferenceError);
    expect(() => parseNormalizedNamed(input)).toThrow(why);
  });

  it('accepts a path of exactly 255 characters, the limit applies to the path only', () => {
    const path = 'a'.repeat(255);
    expect(parseNormalizedNamed(`some.long.registry.example.com/${path}`).path).toBe(path);
  });

  it('is a UserError naming the input, so the CLI prints one line', () => {
    expect(() => parseNormalizedNamed('Ubuntu')).toThrow(UserError);
    expect(() => parseNormalizedNamed('Ubuntu')).toThrow('invalid image reference "Ubuntu": repository name (library/Ubuntu) must be lowercase');
  });

  it('adds latest only on request, and the registry reference prefers the digest', () => {
    expect(parseNormalizedNamed('ubuntu').toString()).toBe('docker.io/library/ubuntu');
    expect(parseImageReference('ubuntu').toString()).toBe('docker.io/library/ubuntu:latest');
    expect(parseImageReference('ubuntu@' + D).toString()).toBe('docker.io/library/ubuntu@' + D);
    expect(parseNormalizedNamed('ubuntu:1@' + D).reference).toBe(D);
    expect(parseNormalizedNamed('ubuntu').reference).toBe('latest');
  });

  it('parses a pathological long name quickly (no regex backtracking blow-up)', () => {
    const started = Date.now();
    expect(() => parseNormalizedNamed('reg.io/' + 'a-'.repeat(5000) + '!')).toThrow(InvalidReferenceError);
    expect(() => parseNormalizedNamed('a.'.repeat(5000) + '-/x')).toThrow(InvalidReferenceError);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('registryMatches (may credentials go with this pull?)', () => {
  const cases: Array<[string, string, boolean]> = [
    // same registry
    ['registry.example.com/ns/image:tag', 'registry.example.com', true],
    ['registry.example.com:5000/image:tag', 'registry.example.com:5000', true],
    ['localhost:5000/image', 'localhost:5000', true],
    ['192.168.1.100:5000/image', '192.168.1.100:5000', true],
    ['[::1]:5000/image', '[::1]:5000', true],
    ['[2001:db8::1]/image', '[2001:db8::1]', true],
    ['registry.example.com/deep/nested/path/image:tag', 'registry.example.com', true],
    // Docker Hub: short names are docker.io; index.docker.io is the same registry
    ['ubuntu:20.04', 'docker.io', true],
    ['library/ubuntu', 'docker.io', true],
    ['user/app', 'docker.io', true],
    ['ubuntu', 'index.docker.io', true],
    ['index.docker.io/user/app', 'docker.io', true],
    ['ubuntu:20.04', 'registry.example.com', false],
    ['registry.example.com/app', 'docker.io', false],
    // a scheme in the setting is taken as the bare host (upstream bootkit refuses it)
    ['myreg:5000/app', 'https://myreg:5000', true],
    ['myreg:5000/app', 'http://myreg:5000/', true],
    ['ubuntu', 'https://index.docker.io', true],
    ['myreg:5000/app', 'https://myreg:5001', false],
    ['evil.com/app', 'https://myreg:5000', false],
    // look-alikes must not get the credentials
    ['docker.io.evil.com/library/ubuntu', 'docker.io', false],
    ['evil-docker.io/ubuntu', 'docker.io', false],
    ['docker.io.evil.com/ubuntu', 'docker.io.evil.com', true],
    ['registry.example.com.evil.com/image', 'registry.example.com', false],
    ['evil.com/registry.example.com/image', 'registry.example.com', false],
    ['sub.registry.example.com/image', 'registry.example.com', false],
    ['registr.example.com/image', 'registry.example.com', false],
    ['registr\u0443.example.com/image', 'registry.example.com', false], // Cyrillic у
    ['evil.com/../registry.example.com/image', 'registry.example.com', false],
    // ports must match exactly
    ['registry.example.com:9999/image', 'registry.example.com:5000', false],
    ['registry.example.com:80/image', 'registry.example.com:443', false],
    ['registry.example.com/image', 'registry.example.com:443', false],
    ['registry.example.com:5000/image', 'registry.example.com', false],
    // case-sensitive, like upstream
    ['Registry.Example.Com/image', 'registry.example.com', false],
    ['registry.example.com/image', 'Registry.Example.Com', false],
    // nothing configured, or nonsense
    ['registry.example.com/image', '', false],
    ['', 'registry.example.com', false],
    ['registry.example.com/image', 'registry.example.com:abc', false],
    ['[::1]/image', '[::1:5000', false],
    ['registry.example.com/image', 'registry.example.com/namespace', false],
    ['NotValid/Image', 'NotValid', false],
    ['registry.example.com/image', 'ftp://registry.example.com', false],
  ];
  it.each(cases)('%s with registry %s -> %s', (image, registry, expected) => {
    expect(registryMatches(image, registry)).toBe(expected);
  });

  it('normalises the setting the way it compares', () => {
    expect(registryHostFromSetting(' https://myreg:5000/ ')).toBe('myreg:5000');
    expect(registryHostFromSetting('index.docker.io')).toBe('docker.io');
    expect(registryHostFromSetting('myreg/ns')).toBeUndefined();
  });
});
