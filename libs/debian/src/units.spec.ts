/** Unit tests: apt sources, .deb reading. Debian packages: dpkg-dev (dpkg-deb), xz-utils, zstd. */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import { run } from '@hook/process';
import { hostDebianMirror, parseAptSources } from './apt';
import { extractDebData, readArMembers } from './deb';
import { hostDebianSuite } from './unpacked';

jest.setTimeout(30_000);

const dir = useTempDir('hook-debian-unit-');

describe('apt sources', () => {
  it('reads one-line and deb822 sources and picks the archive, not security', async () => {
    expect(parseAptSources('# c\ndeb [arch=amd64] http://m.example/debian bookworm main\n', false)).toEqual([{ uri: 'http://m.example/debian', suites: ['bookworm'] }]);
    const apt = join(dir.path, 'apt');
    await mkdir(join(apt, 'sources.list.d'), { recursive: true });
    await writeFile(
      join(apt, 'sources.list.d', 'debian.sources'),
      'Types: deb\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://m.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n',
    );
    expect(hostDebianMirror({}, apt)).toBe('http://m.example/debian');
    expect(hostDebianMirror({ HOOK_DEBIAN_MIRROR: 'http://other.example/d/' }, apt)).toBe('http://other.example/d');
    expect(() => hostDebianMirror({}, join(dir.path, 'none'))).toThrow(/No Debian mirror found.*HOOK_DEBIAN_MIRROR/);
  });
});

describe('host suite', () => {
  it('reads VERSION_CODENAME from os-release, and nothing when it names none', async () => {
    await writeFile(join(dir.path, 'os-release'), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n');
    expect(hostDebianSuite(join(dir.path, 'os-release'))).toBe('bookworm');
    await writeFile(join(dir.path, 'other'), 'ID=alpine\n');
    expect(hostDebianSuite(join(dir.path, 'other'))).toBeUndefined();
    expect(hostDebianSuite(join(dir.path, 'missing'))).toBeUndefined();
  });
});

describe('.deb files', () => {
  it.each(['xz', 'zstd', 'gzip'])('reads a .deb built by dpkg-deb with %s data', async (compression) => {
    const pkg = join(dir.path, 'pkg');
    await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
    await mkdir(join(pkg, 'usr', 'lib', 'modules', '6.12.1'), { recursive: true });
    await writeFile(join(pkg, 'DEBIAN', 'control'), 'Package: hook-test\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n');
    await writeFile(join(pkg, 'usr', 'lib', 'modules', '6.12.1', 'x.ko'), 'x'.repeat(1001));
    await chmod(join(pkg, 'usr', 'lib', 'modules', '6.12.1', 'x.ko'), 0o600);
    const deb = join(dir.path, 'hook-test.deb');
    await run('dpkg-deb', [`-Z${compression}`, '--root-owner-group', '-b', pkg, deb]);
    const members = await readArMembers(deb);
    expect(members.map((m) => m.name)).toEqual(['debian-binary', expect.stringMatching(/^control\.tar/), expect.stringMatching(/^data\.tar/)]);
    const out = join(dir.path, 'out');
    const written = await extractDebData(deb, out);
    expect(written).toContain('usr/lib/modules/6.12.1/x.ko');
    expect(await readFile(join(out, 'usr/lib/modules/6.12.1/x.ko'), 'utf8')).toBe('x'.repeat(1001));
    expect((await stat(join(out, 'usr/lib/modules/6.12.1/x.ko'))).mode & 0o777).toBe(0o600);
  });

  it('refuses a file that is not a .deb with one clear line', async () => {
    await writeFile(join(dir.path, 'bad.deb'), 'not an archive');
    await expect(extractDebData(join(dir.path, 'bad.deb'), join(dir.path, 'o'))).rejects.toThrow(/is not a Debian package/);
  });
});
