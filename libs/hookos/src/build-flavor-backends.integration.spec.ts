/**
 * The two assembly backends side by side: the same small flavor built natively and with the real
 * linuxkit binary (LINUXKIT_BIN, v1.8.2) must give initramfs files that unpack to the same tree.
 * Without LINUXKIT_BIN only the "LINUXKIT_BIN is missing" behaviour is checked.
 */
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, shellQuote } from '@hook/process';
import { flavorWorkspace } from '../test/flavor-workspace';
import { buildFlavor } from './build-flavor';
import { setting } from '@hook/settings';

jest.setTimeout(180000);

const LINUXKIT_BIN = setting(process.env, 'LINUXKIT_BIN');
const itWithLinuxkit = LINUXKIT_BIN ? it : it.skip;
if (!LINUXKIT_BIN) {
  // eslint-disable-next-line no-console
  console.log('linuxkit backend flavor build skipped: LINUXKIT_BIN is not set (the linuxkit v1.8.2 binary is not available here)');
}

const TEMPLATE = `kernel:
  image: "\${HOOK_KERNEL_IMAGE}"
  cmdline: "console=ttyS0"
init:
  - "\${HOOK_CONTAINER_INIT_IMAGE}"
onboot:
  - name: once
    image: "\${HOOK_CONTAINER_SVC_IMAGE}"
    command: ["/usr/bin/svc", "--once"]
services:
  - name: svc
    image: "\${HOOK_CONTAINER_SVC_IMAGE}"
    capabilities: [CAP_NET_ADMIN]
files:
  - path: etc/os-release
    mode: "0444"
    contents: |
      VERSION=\${HOOK_VERSION}
  - path: etc/init.d/002-hello.sh
    mode: "0755"
    contents: "#!/bin/sh\\necho hello\\n"
  - path: var/lib/state
    directory: true
  - path: etc/local-motd
    source: motd.txt
`;

const d = (name: string, mode = 0o755) => ({ name, type: 'directory' as const, mode });

function workspace(): Promise<string> {
  const init = [
    [d('bin/'), { name: 'bin/busybox', mode: 0o4755, content: 'BUSYBOX' }, { name: 'bin/sh', type: 'symlink' as const, linkname: 'busybox' }, { name: 'bin/cat', type: 'link' as const, linkname: 'bin/busybox' }, { name: 'init', mode: 0o755, content: '#!/bin/sh\n' }, d('opt/'), { name: 'opt/old', content: 'old' }],
    [{ name: 'opt/.wh.old' }, d('etc/'), { name: 'etc/issue', content: 'Welcome' }, d('usr/'), d('usr/share/'), { name: 'usr/share/big-a', content: 'same bytes'.repeat(100) }, { name: 'usr/share/big-b', content: 'same bytes'.repeat(100) }],
  ];
  const svc = [[d('usr/'), d('usr/bin/'), { name: 'usr/bin/svc', mode: 0o755, content: 'SVC' }, { name: 'usr/bin/svc-alias', type: 'symlink' as const, linkname: 'svc' }]];
  // Uncompressed layers, as `docker save` leaves them: the linuxkit backend must gzip them for its cache.
  const config = { Cmd: ['/usr/bin/svc'], Env: ['PATH=/usr/bin:/bin'] };
  return flavorWorkspace(
    TEMPLATE,
    [
      { name: 'hook-init', ref: 'example.test/hook/hook-init:11111111-amd64', layers: init as never, config },
      { name: 'svc', ref: 'example.test/hook/svc:22222222-amd64', layers: svc as never, config },
    ],
    { 'linuxkit-templates/motd.txt': 'read relative to the template\n' },
  );
}

/** Unpacks an initramfs with the system tools, as a user (or the kernel) would. */
async function unpack(initramfs: string): Promise<string> {
  const into = await mkdtemp(join(tmpdir(), 'initramfs-tree-'));
  await run('sh', ['-c', `zstd -dc ${shellQuote(initramfs)} | cpio -idmu --quiet --no-absolute-filenames`], { cwd: into });
  return into;
}

/** Every path below `root` with what `ls -l` and `cat` show (hard links as their link count). */
function treeOf(root: string, dir = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(root, dir)).sort()) {
    const rel = dir ? `${dir}/${name}` : name;
    const full = join(root, rel);
    const st = lstatSync(full);
    const what = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `symlink -> ${readlinkSync(full)}` : st.isFile() ? `file nlink=${st.nlink} ${readFileSync(full).toString('base64')}` : `special ${st.rdev}`;
    // mtimes of files only: cpio -m cannot set a symlink's, and a directory's moves as it fills.
    const mtime = st.isFile() ? ` ${Math.floor(st.mtimeMs / 1000)}` : '';
    out[rel] = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}${mtime} ${what}`;
    if (st.isDirectory()) Object.assign(out, treeOf(root, rel));
  }
  return out;
}

describe('buildFlavor backends (integration)', () => {
  const cleanup: string[] = [];
  afterAll(async () => {
    await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('asks for LINUXKIT_BIN in one line and writes nothing when the linuxkit backend has no binary', async () => {
    const root = await workspace();
    cleanup.push(root);
    await expect(buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_LINUXKIT_BACKEND: 'linuxkit' } })).rejects.toThrow(
      'the linuxkit backend needs the linuxkit binary: set LINUXKIT_BIN=/path/to/linuxkit (v1.8.2), or use the native backend',
    );
    await expect(buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_LINUXKIT_BACKEND: 'moby' } })).rejects.toThrow("HOOK_LINUXKIT_BACKEND is 'moby'; use native or linuxkit");
    expect(existsSync(join(root, 'dist/hook'))).toBe(false);
  });

  itWithLinuxkit('native and linuxkit backends give initramfs files that unpack to the same tree (needs LINUXKIT_BIN)', async () => {
    const root = await workspace();
    cleanup.push(root);
    const env = { LINUXKIT_BIN, HOOK_VERSION: '9.8.7', HOOK_PULL_IMAGES: 'no', DOCKER_HOST: 'unix:///nonexistent.sock' };
    const trees: Record<string, Record<string, string>> = {};
    for (const backend of ['native', 'linuxkit'] as const) {
      const result = await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { ...env, HOOK_LINUXKIT_BACKEND: backend } });
      expect(readdirSync(join(root, 'dist/hook')).sort()).toEqual(['SHA256SUMS-x86_64', 'initramfs-x86_64', 'report-x86_64.html', 'sbom-x86_64.cdx.json', 'size-report-x86_64.md', 'vmlinuz-x86_64']);
      expect(readFileSync(join(root, 'dist/hook/vmlinuz-x86_64'))).toEqual(Buffer.alloc(4096, 7));
      expect(result.initramfs!.dedupe.linkedByContent).toBeGreaterThan(0); // big-a/big-b stored once
      const dir = await unpack(join(root, 'dist/hook/initramfs-x86_64'));
      cleanup.push(dir);
      trees[backend] = treeOf(dir);
    }
    expect(trees.linuxkit!['etc/os-release']).toContain(Buffer.from('VERSION=9.8.7\n').toString('base64'));
    expect(trees.linuxkit!['etc/local-motd']).toContain(Buffer.from('read relative to the template\n').toString('base64'));
    expect(trees.linuxkit!['containers/services/svc/config.json']).toBeDefined();
    expect(trees.linuxkit!['usr/share/big-a']).toContain('nlink=2');
    expect(trees.linuxkit!['bin/busybox']).toMatch(/^4755 /);
    expect(trees.linuxkit!['opt/old']).toBeUndefined(); // a whiteout, honoured by both
    // Documented deviation (libs/linuxkit/README.md): linuxkit's kernel+initrd output turns an
    // image's hard link into a relative symlink; the native build keeps it a hard link.
    expect(trees.linuxkit!['bin/cat']).toBe('777 0:0 symlink -> busybox');
    expect(trees.native!['bin/cat']).toBe(trees.native!['bin/busybox']);
    for (const tree of [trees.native!, trees.linuxkit!]) {
      delete tree['bin/cat'];
      tree['bin/busybox'] = tree['bin/busybox']!.replace(/ nlink=\d+ /, ' ');
    }
    expect(trees.native).toEqual(trees.linuxkit);
  });
});
