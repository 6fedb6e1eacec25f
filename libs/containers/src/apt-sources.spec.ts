import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import { UserError } from '@hook/log';
import { hostDebianMirror, parseDeb822Sources, parseOneLineSources } from './apt-sources';

describe('apt sources', () => {
  const etc = useTempDir('hook-apt-');
  beforeEach(async () => {
    await mkdir(join(etc.path, 'sources.list.d'));
  });

  it('reads deb822 .sources files, skipping third-party and security suites', async () => {
    await writeFile(
      join(etc.path, 'sources.list.d', 'a-vendor.sources'),
      'Types: deb\nURIs: https://vendor.example.invalid/node\nSuites: nodistro\nComponents: main\n',
    );
    await writeFile(
      join(etc.path, 'sources.list.d', 'debian.sources'),
      [
        'Types: deb',
        '# a comment',
        'URIs: http://archive.example.invalid/debian-security',
        'Suites: bookworm-security',
        'Components: main',
        '',
        'Types: deb deb-src',
        'URIs: http://archive.example.invalid/debian/',
        'Suites: bookworm bookworm-updates',
        'Components: main contrib',
        '',
      ].join('\n'),
    );
    expect(await hostDebianMirror({}, etc.path)).toBe('http://archive.example.invalid/debian');
  });

  it('reads one-line sources.list entries with options, ignoring disabled files', async () => {
    await writeFile(join(etc.path, 'sources.list.d', 'old.list.disabled'), 'deb http://wrong.example.invalid/debian trixie main\n');
    await writeFile(join(etc.path, 'sources.list'), '# deb http://commented.example.invalid/debian trixie main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example.invalid/debian trixie main non-free-firmware\n');
    expect(await hostDebianMirror({}, etc.path)).toBe('http://one.example.invalid/debian');
  });

  it('skips deb822 stanzas switched off with Enabled: no', () => {
    const text = 'Types: deb\nURIs: http://off.example.invalid/debian\nSuites: trixie\nComponents: main\nEnabled: no\n';
    expect(parseDeb822Sources(text, 'x')).toEqual([]);
    expect(parseOneLineSources('deb-src http://x.example.invalid/debian trixie main\n', 'y')).toEqual([]);
  });

  it('lets HOOK_DEBIAN_MIRROR override the host configuration', async () => {
    expect(await hostDebianMirror({ HOOK_DEBIAN_MIRROR: 'http://local.example.invalid/debian' }, etc.path)).toBe('http://local.example.invalid/debian');
  });

  it('says what to do when the host has no Debian mirror', async () => {
    const error = await hostDebianMirror({}, etc.path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/no Debian mirror found in .*set HOOK_DEBIAN_MIRROR=/);
  });
});
