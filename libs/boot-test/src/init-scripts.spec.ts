/**
 * HookOS's init scripts (images/hook-init/rootfs/usr/lib/hook) run by BusyBox sh on this
 * machine, as the booted system runs them, with `mount`, `mkdir` and `runc` replaced by shell
 * functions that print what they were asked to do. The boot tests prove the same scripts in QEMU.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, shellQuote } from '@hook/process';

const HOOK_LIB = join(__dirname, '../../../images/hook-init/rootfs/usr/lib/hook');
/** lib.sh sources the command-line helper every image shares; in HookOS /usr/lib/hook/cmdline.sh. */
const CMDLINE_LIB = join(__dirname, '../../containers/assets/cmdline.sh');
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hook-init-scripts-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Runs `script` in `busybox sh` after sourcing lib.sh and containers.sh, with recorders. */
async function sh(script: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const prelude = [
    `. ${shellQuote(join(HOOK_LIB, 'lib.sh'))}`,
    `. ${shellQuote(join(HOOK_LIB, 'containers.sh'))}`,
    'mount() { echo "mount $*"; }',
    'mkdir() { echo "mkdir $*"; }',
  ].join('\n');
  const result = await run('busybox', ['sh', '-c', `${prelude}\n${script}`], { env: { ...process.env, HOOK_CMDLINE_LIB: CMDLINE_LIB, ...env } });
  return result.stdout;
}

describe('kernel command line (lib.sh)', () => {
  const cmdline = async (text: string, script: string) => {
    const file = join(work, 'cmdline');
    await writeFile(file, text);
    return sh(script, { HOOK_CMDLINE: file });
  };

  it('takes the last value of a key, keeps values with = and *, tolerates a trailing newline', async () => {
    const out = await cmdline('console=tty0 vlan_id=5 x=a=b vlan_id=42 glob=* console=ttyS0\n', 'cmdline_get vlan_id; echo; cmdline_get x; echo; cmdline_get glob; echo; cmdline_get console');
    expect(out).toBe('42\na=b\n*\nttyS0');
  });

  it('tells a bare key from a missing one, and a missing key fails', async () => {
    const out = await cmdline('ipam vlan_id= quiet', 'cmdline_bare ipam && echo bare; cmdline_get ipam || echo no-ipam-value; cmdline_get vlan_id && echo "empty:[$(cmdline_get vlan_id)]"; cmdline_get nothing || echo missing');
    expect(out).toBe('bare\nno-ipam-value\nempty:[]\nmissing');
  });
});

describe('bundles (containers.sh)', () => {
  it('turns runtime.json into LinuxKit mounts: tmpfs, a bare remount as a propagation change, the overlay with its dirs; mkdir and cgroups', async () => {
    const bundle = join(work, 'bundle');
    await run('mkdir', ['-p', bundle]);
    const b = '/containers/services/x';
    await writeFile(
      join(bundle, 'runtime.json'),
      JSON.stringify({
        cgroups: ['hook/x'],
        mounts: [
          { destination: `${b}/tmp`, type: 'tmpfs', source: 'tmpfs' },
          { destination: `${b}/tmp`, options: ['remount', 'private'] },
          { destination: `${b}/rootfs`, type: 'overlay', source: 'overlay', options: [`lowerdir=${b}/lower`, `upperdir=${b}/tmp/upper`, `workdir=${b}/tmp/work`] },
          { destination: '/var/lib/x', source: '/var/x', options: ['rbind', 'ro', 'rshared'] },
        ],
        mkdir: ['/var/run/x'],
        interfaces: [],
        bindNS: { net: '' },
      }),
    );
    const out = await sh(`bundle_plan ${shellQuote(bundle)} | tr '\\037' '|'`);
    expect(out.trim().split('\n')).toEqual([
      'mkdir|/var/run/x',
      'cgroup|hook/x',
      `mount|${b}/tmp|tmpfs|tmpfs|`,
      `mount|${b}/tmp|||remount,private`,
      `mount|${b}/rootfs|overlay|overlay|lowerdir=${b}/lower,upperdir=${b}/tmp/upper,workdir=${b}/tmp/work`,
      'mount|/var/lib/x||/var/x|rbind,ro,rshared',
    ]);
    const mounts = await sh(
      [
        `mount_entry ${b}/tmp tmpfs tmpfs ''`,
        `mount_entry ${b}/tmp '' '' remount,private`,
        `mount_entry ${b}/rootfs overlay overlay lowerdir=${b}/lower,upperdir=${b}/tmp/upper,workdir=${b}/tmp/work`,
        'mount_entry /var/lib/x "" /var/x rbind,ro,rshared',
      ].join('\n'),
    );
    expect(mounts.split('\n').filter((line) => line.startsWith('mount'))).toEqual([
      `mount -t tmpfs tmpfs ${b}/tmp`,
      `mount --make-private ${b}/tmp`,
      `mount -t overlay -o lowerdir=${b}/lower,upperdir=${b}/tmp/upper,workdir=${b}/tmp/work overlay ${b}/rootfs`,
      'mount --rbind /var/x /var/lib/x',
      'mount -o remount,bind,ro /var/lib/x',
      'mount --make-rshared /var/lib/x',
    ]);
    expect(mounts).toContain(`mkdir -p ${b}/tmp/upper`);
    expect(mounts).toContain(`mkdir -p ${b}/tmp/work`);
  });

  it('marks a bundle with interfaces or namespace bind mounts for create, set up, start', async () => {
    const bundle = join(work, 'with-setup');
    await run('mkdir', ['-p', bundle]);
    await writeFile(join(bundle, 'runtime.json'), JSON.stringify({ interfaces: [{ name: 'veth0', add: 'veth', peer: 'veth1' }], bindNS: {} }));
    expect((await sh(`bundle_plan ${shellQuote(bundle)}`)).trim()).toBe('setup');
    await writeFile(join(bundle, 'runtime.json'), JSON.stringify({ interfaces: [], bindNS: { net: '/run/netns/x' } }));
    expect((await sh(`bundle_plan ${shellQuote(bundle)}`)).trim()).toBe('setup');
    await writeFile(join(bundle, 'runtime.json'), JSON.stringify({ interfaces: [], bindNS: { net: '' } }));
    expect((await sh(`bundle_plan ${shellQuote(bundle)}`)).trim()).toBe('');
  });
});
