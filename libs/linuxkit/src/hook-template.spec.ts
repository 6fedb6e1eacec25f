/**
 * The project's hook.template.yaml, rendered with fake image refs whose images (with
 * org.mobyproject.config labels) are built here: config.json of the services compared with
 * JSON written by hand from LinuxKit's rules (ConfigToOCI, v1.8.2).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OciLayout } from '@hook/oci';
import { addImage, collectTree } from '../test/images';
import { assemble } from './assemble';
import { ALL_CAPABILITIES } from './oci-spec';
import { OciLayoutResolver } from './resolver';
import { templateImageVariables } from '@hook/inventory';

const TEMPLATE = join(__dirname, '../../../linuxkit-templates/hook.template.yaml');
let dir: string;
let tree: Map<string, { data?: Buffer; type: string }>;

const label = (config: object) => ({ Labels: { 'org.mobyproject.config': JSON.stringify(config) } });
const IMAGES: Record<string, Record<string, unknown>> = {
  INIT: {},
  RUNC: {},
  CA_CERTIFICATES: {},
  EMBEDDED: {},
  UDEV: { Cmd: ['/sbin/udevd-image'], ...label({ binds: ['/label/only:/label/only'], capabilities: ['CAP_SYS_ADMIN'] }) },
  DHCP: { Cmd: ['/etc/ip/dhcp.sh'] },
  NTP: {
    Entrypoint: ['/usr/sbin/ntpd'],
    Cmd: ['-d', '-n'],
    WorkingDir: '/var/lib/ntp',
    Env: ['PATH=/usr/bin'],
    ...label({ readonly: true, capabilities: ['CAP_SYS_NICE'], env: ['LABEL_ENV=1'] }),
  },
  ACPID: { Cmd: ['/usr/sbin/acpid', '-f'] },
  GETTY: {
    Cmd: ['/usr/bin/rungetty.sh'],
    Env: ['PATH=/usr/bin:/bin'],
    User: 'nobody',
    ...label({ binds: ['/etc/getty.shadow:/etc/shadow', '/run:/run'], env: ['FROM_LABEL=1'], net: 'host', pid: 'host', capabilities: ['CAP_SYS_ADMIN'] }),
  },
  DOCKER: { Cmd: ['/usr/bin/hook-docker'], Env: ['PATH=/usr/sbin:/usr/bin'] },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'linuxkit-hook-'));
  const layout = await OciLayout.create(join(dir, 'layout'));
  const vars: Record<string, string> = { HOOK_VERSION: '0.12.0', HOOK_KERNEL_IMAGE: 'hooktest/kernel:1', HOOK_KERNEL_ID: 'generic', HOOK_KERNEL_VERSION: '6.12.1' };
  for (const [name, config] of Object.entries(IMAGES)) {
    const ref = `hooktest/${name.toLowerCase()}:1`;
    vars[`HOOK_CONTAINER_${name}_IMAGE`] = ref;
    await addImage(layout, ref, { layers: [[{ name: `opt/${name.toLowerCase()}`, content: name }]], config });
  }
  const kernelDir = join(dir, 'kernel');
  await mkdir(kernelDir);
  await writeFile(join(kernelDir, 'kernel'), 'K');
  const { tarBuffer } = await import('../test/images');
  await writeFile(join(kernelDir, 'kernel.tar'), await tarBuffer([{ name: 'usr/lib/modules/6.12.1/', type: 'directory' }]));
  const result = await collectTree(
    assemble({ yamlPath: TEMPLATE, templateVars: vars, arch: 'amd64', resolver: new OciLayoutResolver([join(dir, 'layout')]), kernelDir }),
  );
  tree = result.tree;
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SORTED_CAPS = [...ALL_CAPABILITIES].sort();
const ALL_CAPS = { bounding: SORTED_CAPS, effective: [...ALL_CAPABILITIES], inheritable: SORTED_CAPS, permitted: SORTED_CAPS };
const bind = (source: string, destination: string) => ({ destination, type: 'bind', source, options: ['rw', 'rbind', 'rshared'] });
const DEV_PTS = { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] };
const PROC = { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'nodev', 'noexec', 'relatime'] };
const SYS = { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev'] };
const CGROUP = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] };
const DEV_TMPFS = { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] };
const NTP_CAPS_SORTED = ['CAP_NET_BIND_SERVICE', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SYS_CHROOT', 'CAP_SYS_NICE', 'CAP_SYS_TIME'];
const ALL_DEVICES = { devices: [{ allow: true, type: 'b', access: 'rwm' }, { allow: true, type: 'c', access: 'rwm' }] };

function text(path: string): string {
  const entry = tree.get(path);
  if (!entry?.data) throw new Error(`${path} is not in the assembled tree`);
  return entry.data.toString();
}

/** Go's MarshalIndent(v, "", "    ") equals JSON.stringify(v, null, 4) when no <>& occur. */
const goJson = (value: object) => JSON.stringify(value, null, 4);

describe('hook.template.yaml: config.json as LinuxKit writes it', () => {
  it('lists the image variables it uses (the Nx graph edges)', async () => {
    const vars = templateImageVariables(await readFile(TEMPLATE, 'utf8'));
    expect(vars).toEqual(Object.keys(IMAGES).map((n) => `HOOK_CONTAINER_${n}_IMAGE`).sort());
  });

  it('getty: label binds ++ binds.add, yaml env replaces label and image env, image User ignored', () => {
    expect(text('containers/services/getty/config.json')).toBe(
      goJson({
        ociVersion: '1.2.1',
        process: { user: { uid: 0, gid: 0 }, args: ['/usr/bin/rungetty.sh'], env: ['INSECURE=true'], cwd: '/', capabilities: ALL_CAPS },
        root: { path: 'rootfs' },
        mounts: [
          bind('/dev', '/dev'),
          bind('/dev/console', '/dev/console'),
          DEV_PTS,
          bind('/etc/motd', '/etc/motd'),
          bind('/etc/os-release', '/etc/os-release'),
          bind('/etc/profile.d/hook.sh', '/etc/profile.d/hook.sh'),
          bind('/etc/resolv.conf', '/etc/resolv.conf'),
          bind('/etc/securetty', '/etc/securetty'),
          bind('/etc/getty.shadow', '/etc/shadow'),
          bind('/', '/host_root'),
          PROC,
          bind('/run', '/run'),
          SYS,
          CGROUP,
          bind('/var/log', '/var/log'),
        ],
        linux: { resources: ALL_DEVICES, namespaces: [{ type: 'mount' }] },
      }),
    );
  });

  it('hook-docker: cgroup2 mount, binds.add, runtime mkdir, all block and char devices', () => {
    expect(text('containers/services/hook-docker/config.json')).toBe(
      goJson({
        ociVersion: '1.2.1',
        process: { user: { uid: 0, gid: 0 }, args: ['/usr/bin/hook-docker'], env: ['PATH=/usr/sbin:/usr/bin'], cwd: '/', capabilities: ALL_CAPS },
        root: { path: 'rootfs' },
        mounts: [
          bind('/dev', '/dev'),
          bind('/dev/console', '/dev/console'),
          DEV_PTS,
          bind('/etc/resolv.conf', '/etc/resolv.conf'),
          bind('/', '/host_root'),
          bind('/lib/modules', '/lib/modules'),
          PROC,
          SYS,
          { destination: '/sys/fs/cgroup', type: 'cgroup2', source: 'cgroup2', options: ['rw', 'nosuid', 'noexec', 'nodev', 'relatime'] },
          bind('/var/run/images', '/var/lib/docker'),
          bind('/var/run/docker', '/var/run'),
          bind('/var/run/worker', '/worker'),
        ],
        linux: { resources: ALL_DEVICES, namespaces: [{ type: 'mount' }] },
      }),
    );
    const b = 'containers/services/hook-docker';
    expect(JSON.parse(text(`${b}/runtime.json`))).toEqual({
      cgroups: [],
      mounts: [
        { destination: `/${b}/tmp`, type: 'tmpfs', source: 'tmpfs' },
        { destination: `/${b}/tmp`, options: ['remount', 'private'] },
        { destination: `/${b}/rootfs`, type: 'overlay', source: 'overlay', options: [`lowerdir=/${b}/lower`, `upperdir=/${b}/tmp/upper`, `workdir=/${b}/tmp/work`] },
      ],
      mkdir: ['/var/run/images', '/var/run/docker', '/var/run/worker'],
      interfaces: [],
      bindNS: { cgroup: '', ipc: '', mnt: '', net: '', pid: '', user: '', uts: '' },
      namespace: '',
    });
  });

  it('udev service: image command, plain binds win over the label, rootfsPropagation, capabilities all; shares the onboot copy', () => {
    expect(text('containers/services/udev/config.json')).toBe(
      goJson({
        ociVersion: '1.2.1',
        process: { user: { uid: 0, gid: 0 }, args: ['/sbin/udevd-image'], cwd: '/', capabilities: ALL_CAPS },
        root: { path: 'rootfs' },
        mounts: [bind('/dev', '/dev'), DEV_PTS, bind('/lib/modules', '/lib/modules'), PROC, bind('/run', '/run'), bind('/sys', '/sys'), CGROUP],
        linux: { resources: ALL_DEVICES, namespaces: [{ type: 'mount' }], rootfsPropagation: 'shared' },
      }),
    );
    const runtime = JSON.parse(text('containers/services/udev/runtime.json'));
    expect(runtime.mounts[2].options[0]).toBe('lowerdir=/containers/onboot/000-udev/lower');
    expect(tree.get('containers/services/udev/lower/opt/udev')).toBeUndefined();
    expect(text('containers/onboot/000-udev/lower/opt/udev')).toBe('UDEV');
  });

  it('udev onboot: yaml command over the image one, new pid namespace, block devices only', () => {
    expect(text('containers/onboot/000-udev/config.json')).toBe(
      goJson({
        ociVersion: '1.2.1',
        process: { user: { uid: 0, gid: 0 }, args: ['/usr/lib/hook/udev-coldplug'], cwd: '/', capabilities: ALL_CAPS },
        root: { path: 'rootfs' },
        mounts: [bind('/dev', '/dev'), DEV_PTS, bind('/lib/modules', '/lib/modules'), PROC, bind('/run', '/run'), bind('/sys', '/sys'), CGROUP],
        linux: { resources: { devices: [{ allow: true, type: 'b', access: 'rwm' }] }, namespaces: [{ type: 'pid' }, { type: 'mount' }], rootfsPropagation: 'shared' },
      }),
    );
  });

  it('ntpd: explicit capabilities (label caps ignored), label readonly and env, entrypoint + cmd, workdir', () => {
    expect(text('containers/services/ntpd/config.json')).toBe(
      goJson({
        ociVersion: '1.2.1',
        process: {
          user: { uid: 0, gid: 0 },
          args: ['/usr/sbin/ntpd', '-d', '-n'],
          env: ['LABEL_ENV=1'],
          cwd: '/var/lib/ntp',
          capabilities: {
            bounding: NTP_CAPS_SORTED,
            effective: ['CAP_SYS_TIME', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_SETGID', 'CAP_SYS_CHROOT', 'CAP_SYS_NICE'],
            inheritable: NTP_CAPS_SORTED,
            permitted: NTP_CAPS_SORTED,
          },
        },
        root: { path: 'rootfs', readonly: true },
        mounts: [{ ...DEV_TMPFS, options: [...DEV_TMPFS.options, 'ro'] }, DEV_PTS, PROC, bind('/run/hook', '/run/hook'), { ...SYS, options: [...SYS.options, 'ro'] }, CGROUP],
        linux: { resources: {}, namespaces: [{ type: 'pid' }, { type: 'mount' }] },
      }),
    );
    // The onboot ntp-once has the image's (read-only) copy; the service binds it.
    expect(text('containers/onboot/002-ntp-once/rootfs/opt/ntp')).toBe('NTP');
    expect(tree.get('containers/services/ntpd/rootfs/opt/ntp')).toBeUndefined();
    expect(JSON.parse(text('containers/services/ntpd/runtime.json')).mounts[0].source).toBe('/containers/onboot/002-ntp-once/rootfs');
  });

  it('keeps the 1024-character cmdline byte for byte and renders the files', () => {
    expect(text('boot/cmdline')).toHaveLength(1024);
    expect(text('etc/os-release')).toContain('PRETTY_NAME="HookOS generic v0.12.0/k6.12.1"');
    expect(tree.get('etc/os-release')).toMatchObject({ mode: 0o444 });
  });
});
