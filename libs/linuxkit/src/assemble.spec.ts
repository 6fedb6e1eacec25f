import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract as tarExtract } from 'tar-stream';
import { createReadStream } from 'node:fs';
import { OciLayout } from '@hook/oci';
import { addImage, collectTree, tarBuffer } from '../test/images';
import { assemble, DEFAULT_MTIME } from './assemble';
import { OciLayoutResolver } from './resolver';
import { writeTar } from './tar-output';

const LONG_DIR = `usr/share/${'a'.repeat(120)}`;
const HOSTS_TEXT = '127.0.0.1       localhost\n::1     localhost ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\nff00::0 ip6-mcastprefix\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n';

let dir: string;
let layoutDir: string;
let kernelDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'linuxkit-assemble-'));
  layoutDir = join(dir, 'layout');
  const layout = await OciLayout.create(layoutDir);
  await addImage(layout, 'test/base:1', {
    layers: [
      [
        { name: 'bin/', type: 'directory' },
        { name: 'bin/busybox', mode: 0o755, content: 'BB' },
        { name: 'bin/sh', type: 'link', linkname: 'bin/busybox' },
        { name: 'bin/su', mode: 0o4755, content: 'su' },
        { name: 'etc/', type: 'directory' },
        { name: 'etc/hosts', content: '1.2.3.4 x\n' },
        { name: 'etc/hostname', content: 'box\n' },
        { name: 'etc/resolv.conf', content: 'nameserver 9.9.9.9\n' },
        { name: 'dev/', type: 'directory', mode: 0o700 },
        { name: 'dev/console', content: '' },
        { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
        { name: 'dev/sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0, gid: 6 },
        { name: 'dev/initctl', type: 'fifo', mode: 0o600 },
        { name: 'usr/', type: 'directory' },
        { name: 'usr/lib/', type: 'directory' },
        { name: 'usr/lib/deleted-dir/', type: 'directory' },
        { name: 'usr/lib/deleted-dir/f', content: 'x' },
        { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { name: 'var/cache/apt/', type: 'directory' },
        { name: 'var/cache/apt/pkgcache.bin', content: 'cache' },
        { name: 'opt/old.txt', content: 'old' },
        { name: 'opt/keep.txt', content: 'keep' },
        { name: `${LONG_DIR}/file`, content: 'long', uid: 1000, gid: 1000 },
        { name: '.dockerenv', content: '' },
        { name: 'Dockerfile', content: 'FROM scratch' },
      ],
      [
        { name: 'opt/.wh.old.txt' },
        { name: 'var/cache/apt/.wh..wh..opq' },
        { name: 'var/cache/apt/new.bin', content: 'new' },
        { name: 'usr/lib/.wh.deleted-dir' },
        { name: 'bin/busybox', mode: 0o755, content: 'BB2' },
        { name: 'etc/motd', content: 'hello\n' },
      ],
      [{ name: 'opt/keep.txt', content: 'kept-top' }],
    ],
  });
  await addImage(layout, 'test/extra:1', {
    layers: [
      [
        { name: 'lib/firmware/', type: 'directory' },
        { name: 'lib/firmware/fw.bin', content: 'FW' },
        { name: 'bin/busybox/child', content: 'cannot be below a file' },
        { name: 'etc/issue', content: 'Welcome\n' },
      ],
    ],
  });
  await addImage(layout, 'test/svc:1', {
    layers: [[{ name: 'usr/bin/svc', mode: 0o755, content: 'SVC' }, { name: 'etc/hosts', content: 'x' }]],
    config: { Cmd: ['/usr/bin/svc'], Env: ['PATH=/usr/bin'] },
  });
  await addImage(layout, 'test/arm:1', { layers: [[{ name: 'x', content: 'x' }]], architecture: 'arm64' });

  kernelDir = join(dir, 'kernel');
  await mkdir(kernelDir);
  await writeFile(join(kernelDir, 'kernel'), 'KERNEL', { mode: 0o644 });
  await writeFile(join(kernelDir, 'System.map'), 'map');
  await writeFile(
    join(kernelDir, 'kernel.tar'),
    await tarBuffer([
      { name: './', type: 'directory' },
      { name: './usr/', type: 'directory' },
      { name: './usr/lib/', type: 'directory' },
      { name: './usr/lib/modules/', type: 'directory' },
      { name: './usr/lib/modules/6.12/', type: 'directory' },
      { name: './usr/lib/modules/6.12/a.ko', content: 'MOD', mtime: 5 },
    ]),
  );
  await mkdir(join(dir, 'keys'));
  await writeFile(join(dir, 'keys', 'id.pub'), 'ssh-ed25519 AAAA test\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const YAML = `kernel:
  cmdline: "console=ttyS0"
init:
  - test/base:1
  - test/extra:1
onboot:
  - name: first
    image: test/svc:1
services:
  - name: again
    image: test/svc:1
    readonly: true
files:
  - path: etc/init.d/002-x.sh
    mode: "0755"
    contents: "#!/bin/sh\\n"
  - path: var/lib/x
    directory: true
  - path: etc/link
    symlink: /etc/motd
  - path: /root/.ssh/authorized_keys
    source: keys/id.pub
    uid: again
`;

async function build(yaml = YAML, extra: Record<string, unknown> = {}) {
  const yamlPath = join(dir, 'hook.yaml');
  await writeFile(yamlPath, yaml);
  return collectTree(assemble({ yamlPath, arch: 'amd64', resolver: new OciLayoutResolver([layoutDir]), kernelDir, ...extra }));
}

describe('assemble: a small image set as LinuxKit lays it out', () => {
  it('flattens init layers with whiteouts, opaque dirs, links, devices, setuid and long names', async () => {
    const { tree } = await build();
    const get = (p: string) => tree.get(p);
    expect(get('bin/busybox')?.data?.toString()).toBe('BB2');
    expect(get('bin/sh')).toMatchObject({ type: 'hardlink', linkTarget: 'bin/busybox' });
    expect(get('bin/su')).toMatchObject({ type: 'file', mode: 0o4755 });
    expect(get('opt/old.txt')).toBeUndefined();
    expect(get('opt/.wh.old.txt')).toBeUndefined();
    expect(get('opt/keep.txt')?.data?.toString()).toBe('kept-top');
    expect(get('var/cache/apt/new.bin')?.data?.toString()).toBe('new');
    expect(get('var/cache/apt/pkgcache.bin')).toBeUndefined(); // opaque dir (LinuxKit would keep it)
    expect(get('usr/lib/deleted-dir')).toBeUndefined();
    expect(get('usr/lib/deleted-dir/f')).toBeUndefined();
    expect(get('dev/null')).toMatchObject({ type: 'char', devMajor: 1, devMinor: 3, mode: 0o666 });
    expect(get('dev/sda')).toMatchObject({ type: 'block', devMajor: 8, devMinor: 0, gid: 6 });
    expect(get('dev/initctl')).toMatchObject({ type: 'fifo' });
    expect(get(`${LONG_DIR}/file`)).toMatchObject({ uid: 1000, gid: 1000 });
    expect(get(`${LONG_DIR}/file`)?.data?.toString()).toBe('long');
    expect(get('lib')).toMatchObject({ type: 'symlink', linkTarget: 'usr/lib' });
  });

  it('drops and replaces what LinuxKit drops and replaces, and appends the touch entries', async () => {
    const { tree, list } = await build();
    for (const gone of ['dev/console', '.dockerenv', 'Dockerfile', 'etc/hostname']) expect(tree.get(gone)).toBeUndefined();
    expect(tree.get('etc/hosts')?.data?.toString()).toBe(HOSTS_TEXT);
    expect(tree.get('etc/resolv.conf')).toMatchObject({ type: 'symlink', linkTarget: '/run/resolvconf/resolv.conf' });
    expect(tree.get('etc/mtab')).toMatchObject({ type: 'symlink', linkTarget: '/proc/mounts' });
    for (const d of ['dev', 'dev/pts', 'dev/shm', 'etc', 'proc', 'sys']) {
      expect(tree.get(d)).toMatchObject({ type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: DEFAULT_MTIME });
    }
    // hosts: the replaced copy, then the touch copy, for each of the two init images.
    expect(list.filter((e) => e.path === 'etc/hosts')).toHaveLength(3);
  });

  it('places the kernel first, then init, the kernel modules, bundles, files', async () => {
    const { list, tree } = await build();
    expect(list.slice(0, 3).map((e) => e.path)).toEqual(['boot', 'boot/cmdline', 'boot/kernel']);
    expect(tree.get('boot/cmdline')?.data?.toString()).toBe('console=ttyS0');
    expect(tree.get('boot/kernel')?.data?.toString()).toBe('KERNEL');
    expect(tree.get('usr/lib/modules/6.12/a.ko')).toMatchObject({ mtime: 5 });
    expect(tree.get('boot/System.map')).toBeUndefined();
    expect(tree.get('System.map')).toBeUndefined();
    const order = ['boot/kernel', 'bin/busybox', 'usr/lib/modules/6.12/a.ko', 'containers/onboot/000-first/config.json', 'containers/services/again/runtime.json', 'etc/link'];
    const positions = order.map((p) => list.findIndex((e) => e.path === p));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('never puts an entry below a symlink or a file', async () => {
    const { tree } = await build();
    expect(tree.get('usr/lib/firmware/fw.bin')?.data?.toString()).toBe('FW'); // lib -> usr/lib followed
    expect(tree.get('lib/firmware/fw.bin')).toBeUndefined();
    expect(tree.get('bin/busybox/child')).toBeUndefined();
    for (const path of tree.keys()) {
      const parts = path.split('/');
      for (let i = 1; i < parts.length; i++) {
        const parent = tree.get(parts.slice(0, i).join('/'));
        if (parent) expect([path, parent.type]).toEqual([path, 'directory']);
      }
    }
  });

  it('writes bundles, and extracts an image used twice only once', async () => {
    const { tree, list } = await build();
    const b1 = 'containers/onboot/000-first';
    expect(tree.get(`${b1}/lower/usr/bin/svc`)?.data?.toString()).toBe('SVC');
    expect(tree.get(`${b1}/lower/etc/hosts`)?.data?.toString()).toBe(HOSTS_TEXT);
    expect(tree.get(`${b1}/lower/etc/resolv.conf`)?.data?.toString()).toBe('\n# no resolv.conf configured\n');
    expect(tree.get(`${b1}/tmp`)).toMatchObject({ type: 'directory', mode: 0o755 });
    expect(tree.get(`${b1}/rootfs`)).toMatchObject({ type: 'directory', mode: 0o755 });
    const b2 = 'containers/services/again';
    expect(list.some((e) => e.path.startsWith(`${b2}/rootfs/`) || e.path.startsWith(`${b2}/lower`))).toBe(false);
    expect(tree.get(`${b2}/rootfs`)).toMatchObject({ type: 'directory' });
    const runtime2 = JSON.parse(tree.get(`${b2}/runtime.json`)!.data!.toString());
    expect(runtime2.mounts[0]).toEqual({ destination: `/${b2}/rootfs`, source: `/${b1}/lower`, options: ['bind'] });
    const runtime1 = JSON.parse(tree.get(`${b1}/runtime.json`)!.data!.toString());
    expect(runtime1).toEqual({
      cgroups: [],
      mounts: [
        { destination: `/${b1}/tmp`, type: 'tmpfs', source: 'tmpfs' },
        { destination: `/${b1}/tmp`, options: ['remount', 'private'] },
        { destination: `/${b1}/rootfs`, type: 'overlay', source: 'overlay', options: [`lowerdir=/${b1}/lower`, `upperdir=/${b1}/tmp/upper`, `workdir=/${b1}/tmp/work`] },
      ],
      mkdir: [],
      interfaces: [],
      bindNS: { cgroup: '', ipc: '', mnt: '', net: '', pid: '', user: '', uts: '' },
      namespace: '',
    });
    const config2 = JSON.parse(tree.get(`${b2}/config.json`)!.data!.toString());
    expect(config2.root).toEqual({ path: 'rootfs', readonly: true });
    expect(config2.process.args).toEqual(['/usr/bin/svc']);
  });

  it('writes the files section with LinuxKit modes, owners and leading directories', async () => {
    const { tree, list } = await build();
    expect(tree.get('etc/init.d/002-x.sh')).toMatchObject({ type: 'file', mode: 0o755, mtime: DEFAULT_MTIME });
    expect(tree.get('etc/init.d/002-x.sh')?.data?.toString()).toBe('#!/bin/sh\n');
    expect(tree.get('var/lib/x')).toMatchObject({ type: 'directory', mode: 0o700 });
    expect(tree.get('etc/link')).toMatchObject({ type: 'symlink', linkTarget: '/etc/motd', mode: 0o600 });
    // again is the 2nd container: uid 101; its leading dirs take the file's owner and mode + x.
    expect(tree.get('root/.ssh/authorized_keys')).toMatchObject({ mode: 0o600, uid: 101 });
    expect(tree.get('root/.ssh/authorized_keys')?.data?.toString()).toBe('ssh-ed25519 AAAA test\n');
    expect(tree.get('root/.ssh')).toMatchObject({ type: 'directory', mode: 0o700, uid: 101 });
    const filesStart = list.findIndex((e) => e.path === 'etc/init.d/002-x.sh') - 2;
    expect(list.slice(filesStart, filesStart + 2).map((e) => [e.path, e.mode])).toEqual([
      ['etc', 0o755],
      ['etc/init.d', 0o755],
    ]);
  });

  it('uses SOURCE_DATE_EPOCH for generated entries when given', async () => {
    const { tree } = await build(YAML, { sourceDateEpoch: 1700000000 });
    expect(tree.get('boot/cmdline')?.mtime).toBe(1700000000);
    expect(tree.get('etc/init.d/002-x.sh')?.mtime).toBe(1700000000);
    expect(tree.get('bin/busybox')?.mtime).toBe(1000); // image entries keep theirs
  });

  it('writes the entries as a tar (format: tar)', async () => {
    const yamlPath = join(dir, 'hook.yaml');
    await writeFile(yamlPath, YAML);
    const out = join(dir, 'hook.tar');
    const count = await writeTar(assemble({ yamlPath, arch: 'amd64', resolver: new OciLayoutResolver([layoutDir]), kernelDir }), out);
    const names: string[] = [];
    const extract = tarExtract();
    createReadStream(out).pipe(extract);
    const seen = new Map<string, string>();
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      names.push(entry.header.name);
      seen.set(entry.header.name, `${entry.header.type}:${Buffer.concat(chunks).toString()}`);
    }
    expect(names).toHaveLength(count);
    expect(seen.get('boot/kernel')).toBe('file:KERNEL');
    expect(seen.get('dev/null')).toBe('character-device:');
    expect(seen.get(`${LONG_DIR}/file`)).toBe('file:long');
  });
});
