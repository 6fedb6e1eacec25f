import { createReadStream } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import { extract as tarExtract } from 'tar-stream';
import { OciLayout } from '@hook/oci';
import type { FsEntry } from '@hook/initramfs';
import { addImage, collectTree, tarBuffer, type ImageSpec } from '../test/images';
import { assemble } from './assemble';
import { checkLinuxkitVersion, linuxkitBinary, linuxkitBuild, linuxkitBuildArgs, parseBackend } from './backend';
import { cleanPath } from './flatten';
import { OciLayoutResolver } from './resolver';
import { setting } from '@hook/settings';

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
    expect(() => linuxkitBinary({ LINUXKIT_BIN: '/nonexistent/linuxkit' })).toThrow('LINUXKIT_BIN=/nonexistent/linuxkit does not exist; point it at the linuxkit binary (v1.8.2), or use the native backend');
  });

  it("refuses a binary that is not the flavor's LINUXKIT_VERSION (stand-in programs answering 'version')", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'linuxkit-version-'));
    try {
      const program = async (name: string, script: string) => {
        const path = join(dir, name);
        await writeFile(path, `#!/bin/sh\n${script}\n`);
        await chmod(path, 0o755);
        return { LINUXKIT_BIN: path, PATH: process.env.PATH };
      };
      const newer = await program('linuxkit-1.9', 'echo "linuxkit version v1.9.0"; echo "commit: 0123"');
      await expect(checkLinuxkitVersion('1.8.2', newer)).rejects.toThrow(
        `LINUXKIT_BIN=${newer.LINUXKIT_BIN} is linuxkit v1.9.0, but the flavor pins LINUXKIT_VERSION 1.8.2; point LINUXKIT_BIN at linuxkit v1.8.2, or set LINUXKIT_VERSION in the flavor's flavor.yaml`,
      );
      await expect(checkLinuxkitVersion('1.9.0', newer)).resolves.toBeUndefined();
      const other = await program('not-linuxkit', 'echo usage; exit 2');
      await expect(checkLinuxkitVersion('1.8.2', other)).rejects.toThrow(`LINUXKIT_BIN=${other.LINUXKIT_BIN} does not answer 'version' like linuxkit (exit code 2)`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const LINUXKIT_BIN = setting(process.env, 'LINUXKIT_BIN');
const describeWithLinuxkit = LINUXKIT_BIN ? describe : describe.skip;
if (!LINUXKIT_BIN) {
  // eslint-disable-next-line no-console
  console.log('linuxkit backend comparison skipped: LINUXKIT_BIN is not set (the linuxkit v1.8.2 binary is not available here)');
}

/** One path of an unpacked tree, as `ls -l` and `cat` would show it. */
interface Seen {
  type: string;
  mode: string;
  owner: string;
  mtime: number;
  link?: string;
  content?: string;
  /** major:minor of a device node. */
  device?: string;
}

const TAR_TYPES: Record<string, string> = { file: 'file', directory: 'directory', symlink: 'symlink', link: 'hardlink', 'character-device': 'char', 'block-device': 'block', fifo: 'fifo' };

function seen(type: string, mode: number, uid: number, gid: number, mtime: number, link: string | undefined, data: Buffer | undefined, device?: string): Seen {
  const out: Seen = { type, mode: (mode & 0o7777).toString(8), owner: `${uid}:${gid}`, mtime };
  if (device !== undefined) out.device = device;
  if (link !== undefined) out.link = link;
  if (data !== undefined) out.content = data.toString('utf8');
  return out;
}

/** linuxkit's tar as unpacked: last entry wins; PAX records (LINUXKIT.source/location) are not part of the tree. */
async function linuxkitTree(file: string): Promise<Map<string, Seen>> {
  const tree = new Map<string, Seen>();
  const extract = tarExtract();
  createReadStream(file).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const h = entry.header;
    const path = cleanPath(h.name);
    const type = TAR_TYPES[h.type ?? 'file'] ?? String(h.type);
    const link = type === 'hardlink' ? cleanPath(h.linkname ?? '') : type === 'symlink' ? (h.linkname ?? '') : undefined;
    const mtime = h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0;
    const device = type === 'char' || type === 'block' ? `${h.devmajor ?? 0}:${h.devminor ?? 0}` : undefined;
    if (path) tree.set(path, seen(type, h.mode ?? 0, h.uid ?? 0, h.gid ?? 0, mtime, link, type === 'file' ? Buffer.concat(chunks) : undefined, device));
  }
  return tree;
}

async function nativeTree(entries: AsyncIterable<FsEntry>): Promise<Map<string, Seen>> {
  const { tree } = await collectTree(entries);
  const out = new Map<string, Seen>();
  for (const [path, e] of tree) {
    const device = e.type === 'char' || e.type === 'block' ? `${e.devMajor ?? 0}:${e.devMinor ?? 0}` : undefined;
    out.set(path, seen(e.type, e.mode, e.uid, e.gid, e.mtime, e.linkTarget, e.type === 'file' ? e.data : undefined, device));
  }
  return out;
}

const d = (name: string, mode = 0o755) => ({ name, type: 'directory' as const, mode });
const f = (name: string, content: string, mode = 0o644, mtime = 1000) => ({ name, content, mode, mtime });

/** Images exercising what the assembler has to get right: whiteouts, links, setuid, labels, init order. */
const IMAGES: Record<string, ImageSpec> = {
  'docker.io/test/init:1': {
    layers: [
      [
        d('bin/'), f('bin/sh', 'sh', 0o755), f('bin/busybox', 'busybox', 0o4755, 2000), d('etc/'), f('etc/hosts', 'x'), f('etc/hostname', 'h'),
        f('etc/resolv.conf', 'nameserver 1.1.1.1'), d('lib/'), d('lib/apk/'), d('lib/apk/db/'), f('lib/apk/db/installed', 'P:init'),
        d('opt/'), f('opt/old', 'deleted by an opaque whiteout'), d('gone/'), f('gone/file', 'deleted by a whiteout'), f('.dockerenv', ''),
      ],
      [
        { name: 'bin/.wh.sh' }, { name: '.wh.gone' }, f('bin/ash', 'ash', 0o755), { name: 'opt/.wh..wh..opq' }, f('opt/new', 'new'),
        { name: 'bin/ls', type: 'symlink', linkname: 'busybox' }, { name: 'bin/cat', type: 'link', linkname: 'bin/busybox' },
        { name: 'usr/sbin/sudo', mode: 0o6711, uid: 0, gid: 0, content: 'sudo', mtime: 3000 },
        d('dev/'), { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 }, { name: 'dev/initctl', type: 'fifo', mode: 0o600 },
        { name: 'home/user/', type: 'directory', mode: 0o700, uid: 1000, gid: 1000 }, { name: 'home/user/.profile', content: 'x', uid: 1000, gid: 1000 },
      ],
    ],
  },
  'docker.io/test/init2:1': {
    layers: [[d('bin/'), f('bin/ash', 'ash from the second init image', 0o755), d('etc/'), f('etc/issue', 'Welcome'), d('lib/'), d('lib/apk/'), d('lib/apk/db/'), f('lib/apk/db/installed', 'P:init2')]],
  },
  'docker.io/test/svc:1': {
    config: {
      Cmd: ['/usr/bin/svc', '--flag'],
      Env: ['PATH=/usr/bin', 'A=<b>&c'],
      WorkingDir: '/work',
      Labels: { 'org.mobyproject.config': JSON.stringify({ capabilities: ['CAP_NET_ADMIN'], binds: ['/run:/run'], net: 'host' }) },
    },
    layers: [
      [d('usr/'), d('usr/bin/'), f('usr/bin/svc', 'svc', 0o755), f('usr/bin/helper', 'helper', 0o4750), d('etc/'), f('etc/svc.conf', 'a=1', 0o640), f('tmp-file', 'removed')],
      [{ name: '.wh.tmp-file' }, { name: 'usr/bin/svc-link', type: 'link', linkname: 'usr/bin/svc' }, { name: 'usr/bin/alias', type: 'symlink', linkname: '/usr/bin/svc' }],
    ],
  },
  'docker.io/library/alpine:3': { layers: [[d('bin/'), f('bin/true', 'true', 0o755), d('etc/'), { name: 'etc/mtab', type: 'symlink', linkname: '../proc/self/mounts' }]] },
};

/** A kernel image as Hook's kernel builds publish it: the kernel, kernel.tar (modules, `./` names), files linuxkit drops. */
async function kernelImage(): Promise<ImageSpec> {
  const modules = await tarBuffer([d('./'), d('./lib/'), d('./lib/modules/'), d('./lib/modules/6.6.1/'), f('./lib/modules/6.6.1/modules.dep', 'x.ko:\n')]);
  return { layers: [[f('kernel', 'KERNEL', 0o600), f('System.map', 'dropped'), { name: 'kernel.tar', content: modules }]] };
}

const YAML = `kernel:
  image: test/kernel:1
  cmdline: "console=ttyS0 quiet"
init:
  - test/init:1
  - test/init2:1
onboot:
  - name: one
    image: test/svc:1
    command: ["/usr/bin/svc", "once"]
  - name: two
    image: alpine:3
    readonly: true
    command: [/bin/true]
services:
  - name: svc
    image: test/svc:1
    capabilities: [all]
    binds.add: [/var:/var]
    env: ["X=1"]
    pid: host
  - name: ro
    image: alpine:3
    readonly: true
    uid: svc
    gid: 100
    devices:
      - path: "/dev/null"
        type: c
        major: 1
        minor: 3
        mode: "0666"
files:
  - path: etc/motd
    contents: hi
  - path: etc/app/conf.d/settings
    contents: "k=v\\n"
    mode: "0640"
    uid: 1000
    gid: svc
  - path: var/lib/data
    directory: true
  - path: etc/init.d/002-script.sh
    mode: "0755"
    contents: "#!/bin/sh\\n"
  - path: usr/local/bin/alias
    symlink: /usr/bin/svc
    mode: "0777"
`;

describeWithLinuxkit('integration: native and linuxkit backends agree (needs LINUXKIT_BIN)', () => {
  const dir = useTempDir('linuxkit-backend-', 'all');

  it('gives the same unpacked file tree (format tar, --no-sbom)', async () => {
    // A LinuxKit cache: an OCI layout, gzip layers, ref names fully expanded.
    const cache = await OciLayout.create(join(dir.path, 'cache'));
    for (const [ref, spec] of Object.entries({ ...IMAGES, 'docker.io/test/kernel:1': await kernelImage() })) {
      await addImage(cache, ref, { ...spec, compression: 'gzip' });
    }
    const yamlPath = join(dir.path, 'hook.yaml');
    await writeFile(yamlPath, YAML);
    await linuxkitBuild({ yamlPath, arch: 'amd64', outDir: join(dir.path, 'lk'), format: 'tar', cacheDir: join(dir.path, 'cache'), extraArgs: ['--no-sbom'] });
    const expected = await linuxkitTree(join(dir.path, 'lk', 'hook.tar'));
    const actual = await nativeTree(assemble({ yamlPath, arch: 'amd64', resolver: new OciLayoutResolver([join(dir.path, 'cache')]) }));

    // The test means something only if linuxkit wrote what it exercises.
    expect(expected.get('bin/ash')?.content).toBe('ash from the second init image'); // init images in order
    expect(expected.get('bin/cat')).toMatchObject({ type: 'hardlink', link: 'bin/busybox' });
    expect(expected.get('usr/sbin/sudo')?.mode).toBe('6711');
    expect(expected.has('bin/sh') || expected.has('gone/file') || expected.has('etc/hostname')).toBe(false);
    for (const bundle of ['onboot/000-one', 'onboot/001-two', 'services/svc', 'services/ro']) {
      expect(expected.get(`containers/${bundle}/config.json`)?.content).toMatch(/^\{\n {4}"ociVersion": "1.2.1"/);
      expect(expected.get(`containers/${bundle}/runtime.json`)?.content).toContain('"mounts"');
    }
    expect(expected.get('etc/motd')).toMatchObject({ mode: '600', content: 'hi' });
    expect(expected.get('dev/null')).toMatchObject({ type: 'char', device: '1:3' });
    expect(expected.get('lib/modules/6.6.1/modules.dep')?.content).toBe('x.ko:\n');
    expect(expected.get('lib/apk/db/installed')?.content).toBe('P:init\n\nP:init2\n\n');

    // Documented deviation (libs/linuxkit/README.md, flatten.ts): an opaque whiteout hides the
    // lower layers' files, as the OCI spec says; linuxkit (go-containerregistry) keeps them.
    expect(expected.get('opt/old')?.content).toBe('deleted by an opaque whiteout');
    expected.delete('opt/old');

    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
  }, 120_000);
});
