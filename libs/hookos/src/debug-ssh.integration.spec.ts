/**
 * HOOK_DEBUG_SSH: the flavor build adds the debug fragment's sshd and the keys, and nothing of
 * them without the setting; a file that is not an authorized_keys file is one line, nothing written.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { run } from '@hook/process';
import { FLAVOR_TEMPLATE, flavorWorkspace } from '../test/flavor-workspace';
import { buildFlavor } from './build-flavor';

jest.setTimeout(120000);

const FRAGMENT = `services:
  - name: sshd
    image: "\${HOOK_CONTAINER_SSHD_IMAGE}"
    binds.add:
      - /root/.ssh:/root/.ssh
`;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHookTestKeyHookTestKeyHookTestKeyHookTest hook@test';

let root: string;
let keys: string;

beforeAll(async () => {
  root = await flavorWorkspace(
    FLAVOR_TEMPLATE,
    [
      { name: 'hook-init', ref: 'example.test/hook/hook-init:1-amd64', layers: [[{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', mode: 0o755, content: 'SH' }]] },
      { name: 'svc', ref: 'example.test/hook/svc:2-amd64', layers: [[{ name: 'usr/bin/svc', mode: 0o755, content: 'SVC' }]], config: { Cmd: ['/usr/bin/svc'] } },
      { name: 'sshd', ref: 'example.test/hook/sshd:3-amd64', layers: [[{ name: 'usr/sbin/sshd', mode: 0o755, content: 'SSHD' }]], config: { Cmd: ['/usr/bin/hook-sshd'] } },
    ],
    { 'linuxkit-templates/debug-ssh.yaml': FRAGMENT },
  );
  keys = join(await mkdtemp(join(tmpdir(), 'hook-keys-')), 'authorized_keys');
  await writeFile(keys, `# a comment\n${KEY}\n`);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function unpacked(file: string, path?: string): Promise<string> {
  const { stdout } = await run('sh', ['-c', `zstd -dc '${file}' | cpio -i --quiet ${path ? `--to-stdout '${path}'` : '-t'}`]);
  return stdout;
}

describe('HOOK_DEBUG_SSH', () => {
  it('without it, HookOS has no sshd and no keys', async () => {
    await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: {} });
    const list = (await unpacked(join(root, 'dist/hook/initramfs-x86_64'))).split('\n');
    expect(list).toContain('containers/services/svc/config.json');
    expect(list.filter((path) => path.includes('sshd') || path.includes('authorized_keys'))).toEqual([]);
  });

  it('with an authorized_keys file, sshd runs as a service and the keys are root\'s', async () => {
    await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_DEBUG_SSH: keys } });
    const initramfs = join(root, 'dist/hook/initramfs-x86_64');
    const list = (await unpacked(initramfs)).split('\n');
    expect(list).toContain('containers/services/sshd/config.json');
    expect(list).toContain('containers/services/svc/config.json');
    expect(await unpacked(initramfs, 'root/.ssh/authorized_keys')).toBe(KEY); // run() drops the last newline
    const config = JSON.parse(await unpacked(initramfs, 'containers/services/sshd/config.json')) as { process: { args: string[] }; mounts: Array<{ destination: string }> };
    expect(config.process.args).toEqual(['/usr/bin/hook-sshd']);
    expect(config.mounts.map((m) => m.destination)).toContain('/root/.ssh');
  });

  it('refuses a file that is not an authorized_keys file, or none, with one line, and writes nothing', async () => {
    const notKeys = join(root, 'not-keys');
    await writeFile(notKeys, '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n');
    await rm(join(root, 'dist/hook'), { recursive: true, force: true });
    for (const [path, message] of [
      [notKeys, /^HOOK_DEBUG_SSH: '.*not-keys' is not an authorized_keys file \(line '-----BEGIN OPENSSH PRIVATE KEY-----\.\.\.'\); give a public key file such as ~\/\.ssh\/id_ed25519\.pub$/],
      [join(root, 'missing.pub'), /^HOOK_DEBUG_SSH: cannot read '.*missing\.pub' \(ENOENT\); give the path of an authorized_keys file/],
    ] as const) {
      const build = buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_DEBUG_SSH: path } });
      await expect(build).rejects.toThrow(UserError);
      await expect(build).rejects.toThrow(message);
    }
    expect(existsSync(join(root, 'dist/hook')) ? readdirSync(join(root, 'dist/hook')) : []).toEqual([]);
  });
});
