import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract as tarExtract } from 'tar-stream';
import { OciLayout } from '@hook/oci';
import { addImage, collectTree } from '../test/images';
import { assemble } from './assemble';
import { linuxkitBinary, linuxkitBuild, linuxkitBuildArgs, parseBackend } from './backend';
import { cleanPath } from './flatten';
import { OciLayoutResolver } from './resolver';

describe('backend switch', () => {
  it('selects native by default and linuxkit on request', () => {
    expect(parseBackend(undefined)).toBe('native');
    expect(parseBackend('linuxkit')).toBe('linuxkit');
    expect(() => parseBackend('moby')).toThrow('unknown assembly backend "moby"; use native or linuxkit');
  });

  it('runs linuxkit as upstream Hook does, and asks for LINUXKIT_BIN when it is not set', () => {
    expect(linuxkitBuildArgs({ yamlPath: 'h.yaml', arch: 'arm64', outDir: 'out' })).toEqual([
      'build', '--arch', 'arm64', '--name', 'hook', '--format', 'kernel+initrd', '--dir', 'out', 'h.yaml',
    ]);
    expect(() => linuxkitBinary({})).toThrow('set LINUXKIT_BIN=/path/to/linuxkit');
  });
});

const LINUXKIT_BIN = process.env.LINUXKIT_BIN;
const describeWithLinuxkit = LINUXKIT_BIN ? describe : describe.skip;
if (!LINUXKIT_BIN) {
  // eslint-disable-next-line no-console
  console.log('linuxkit backend comparison skipped: LINUXKIT_BIN is not set (the linuxkit v1.8.2 binary is not available here)');
}

async function tarTree(file: string): Promise<Map<string, string>> {
  const tree = new Map<string, string>();
  const extract = tarExtract();
  createReadStream(file).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const h = entry.header;
    const path = cleanPath(h.name);
    if (path) tree.set(path, `${h.type} ${((h.mode ?? 0) & 0o7777).toString(8)} ${h.uid}:${h.gid} ${h.linkname ?? ''} ${Buffer.concat(chunks).toString('base64')}`);
  }
  return tree;
}

describeWithLinuxkit('integration: native and linuxkit backends agree (needs LINUXKIT_BIN)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'linuxkit-backend-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same file tree (format tar, --no-sbom)', async () => {
    // A LinuxKit cache is an OCI layout whose ref names are fully expanded refs.
    const cache = await OciLayout.create(join(dir, 'cache'));
    await addImage(cache, 'docker.io/test/init:1', {
      layers: [[{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', mode: 0o755, content: 'sh' }, { name: 'etc/hosts', content: 'x' }], [{ name: 'bin/.wh.sh' }, { name: 'bin/ash', mode: 0o755, content: 'ash' }]],
    });
    await addImage(cache, 'docker.io/test/svc:1', { layers: [[{ name: 'usr/bin/svc', mode: 0o755, content: 'svc' }]], config: { Cmd: ['/usr/bin/svc'] } });
    const yamlPath = join(dir, 'hook.yaml');
    await writeFile(yamlPath, 'init:\n  - test/init:1\nonboot:\n  - name: one\n    image: test/svc:1\nservices:\n  - name: two\n    image: test/svc:1\n    capabilities: [all]\nfiles:\n  - path: etc/motd\n    contents: hi\n    mode: "0644"\n');
    await linuxkitBuild({ yamlPath, arch: 'amd64', outDir: join(dir, 'lk'), format: 'tar', cacheDir: join(dir, 'cache'), extraArgs: ['--no-sbom'] });
    const expected = await tarTree(join(dir, 'lk', 'hook.tar'));
    const { tree } = await collectTree(assemble({ yamlPath, arch: 'amd64', resolver: new OciLayoutResolver([join(dir, 'cache')]) }));
    const actual = new Map<string, string>();
    for (const [path, e] of tree) {
      actual.set(path, `${{ file: 'file', directory: 'directory', symlink: 'symlink', hardlink: 'link', char: 'character-device', block: 'block-device', fifo: 'fifo' }[e.type]} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.linkTarget ?? ''} ${(e.data ?? Buffer.alloc(0)).toString('base64')}`);
    }
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
  }, 120_000);
});
