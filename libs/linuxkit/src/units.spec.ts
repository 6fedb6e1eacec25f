import { goMarshalIndent } from './go-json';
import { buildOciSpec } from './oci-spec';
import { renderTemplate, templateImageVariables, imageVariableName } from '@hook/inventory';
import { validateConfig } from './config';

describe('renderTemplate', () => {
  const vars = { HOOK_VERSION: '1.2', HOOK_CONTAINER_INIT_IMAGE: 'x/init:1', HOOK_KERNEL_ID: 'k' };
  it('replaces only the Hook variables, in both forms, and leaves other $NAMEs literally', () => {
    const text = 'a: "$HOOK_VERSION ${HOOK_VERSION} $HOME ${PATH} $HOOK_VERSIONX ${HOOK_KERNEL_ID}"\nb: ${HOOK_CONTAINER_INIT_IMAGE}\n';
    expect(renderTemplate(text, vars)).toBe('a: "1.2 1.2 $HOME ${PATH} $HOOK_VERSIONX k"\nb: x/init:1\n');
  });
  it('fails on a listed variable without a value, never substituting an empty string', () => {
    expect(() => renderTemplate('x: $HOOK_KERNEL_VERSION\n', vars, 't.yaml')).toThrow('t.yaml:1: template variable HOOK_KERNEL_VERSION has no value');
  });
  it('leaves comments alone but not block scalars that look like comments', () => {
    const text = '# uses ${HOOK_CONTAINER_OLD_IMAGE}\nc: |\n  # ${HOOK_VERSION}\n';
    expect(renderTemplate(text, vars)).toBe('# uses ${HOOK_CONTAINER_OLD_IMAGE}\nc: |\n  # 1.2\n');
    expect(templateImageVariables('# ${HOOK_CONTAINER_A_IMAGE}\nx: $HOOK_CONTAINER_B_IMAGE # ${HOOK_CONTAINER_C_IMAGE}\ny: "${HOOK_CONTAINER_B_IMAGE}"\n')).toEqual(['HOOK_CONTAINER_B_IMAGE']);
  });
  it('names image variables after the images/ folder', () => {
    expect(imageVariableName('hook-bootkit')).toBe('HOOK_CONTAINER_BOOTKIT_IMAGE');
    expect(imageVariableName('ca-certificates')).toBe('HOOK_CONTAINER_CA_CERTIFICATES_IMAGE');
  });
});

describe('goMarshalIndent', () => {
  it('writes Go MarshalIndent output: HTML escapes, control characters, uint64, no trailing newline', () => {
    expect(goMarshalIndent({ a: '<&>', b: 'tab\tnl\n\u0001\u2028', c: [], d: {}, e: 18446744073709551615n, f: undefined })).toBe(
      '{\n    "a": "\\u003c\\u0026\\u003e",\n    "b": "tab\\tnl\\n\\u0001\\u2028",\n    "c": [],\n    "d": {},\n    "e": 18446744073709551615\n}',
    );
  });
});

describe('buildOciSpec', () => {
  it('rlimits, uid/gid names, ambient caps, tmpfs, namespaces and devices as LinuxKit', () => {
    const { spec } = buildOciSpec(
      {
        name: 's',
        image: 'x',
        rlimits: ['nofile,1024,unlimited', 'RLIMIT_NPROC,10,20'],
        uid: 'other',
        gid: 7,
        additionalGids: ['root', 'other'],
        capabilities: ['CAP_NET_ADMIN', 'CAP_NET_ADMIN'],
        ambient: ['CAP_CHOWN'],
        tmpfs: ['/tmp:size=1m,mode=1777'],
        net: 'new',
        ipc: 'none',
        uts: '/proc/1/ns/uts',
        devices: [{ path: '/dev/ttyS0', type: 'c', major: 4, minor: 64, mode: '0660' }],
        oomScoreAdj: -500,
        noNewPrivileges: true,
        hostname: 'h',
      },
      { Cmd: ['/x'] },
      new Map([['other', 104]]),
    );
    const json = JSON.parse(goMarshalIndent(spec).replace(/18446744073709551615/g, '"MAX"'));
    expect(json.process.user).toEqual({ uid: 104, gid: 7, additionalGids: [0, 104] });
    expect(json.process.rlimits).toEqual([
      { type: 'RLIMIT_NOFILE', hard: 'MAX', soft: 1024 },
      { type: 'RLIMIT_NPROC', hard: 20, soft: 10 },
    ]);
    expect(json.process.capabilities).toEqual({
      bounding: ['CAP_CHOWN', 'CAP_NET_ADMIN'],
      effective: ['CAP_NET_ADMIN', 'CAP_NET_ADMIN'],
      inheritable: ['CAP_CHOWN', 'CAP_NET_ADMIN'],
      permitted: ['CAP_CHOWN', 'CAP_NET_ADMIN'],
      ambient: ['CAP_CHOWN'],
    });
    expect(json.process.noNewPrivileges).toBe(true);
    expect(json.process.oomScoreAdj).toBe(-500);
    expect(json.hostname).toBe('h');
    expect(json.mounts.find((m: { destination: string }) => m.destination === '/tmp')).toEqual({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=1777'] });
    expect(json.linux.namespaces).toEqual([{ type: 'network' }, { type: 'ipc', path: 'none' }, { type: 'uts', path: '/proc/1/ns/uts' }, { type: 'pid' }, { type: 'mount' }]);
    expect(json.linux.devices).toEqual([{ path: '/dev/ttyS0', type: 'c', major: 4, minor: 64, fileMode: 432 }]);
    expect(json.linux.resources).toEqual({ devices: [{ allow: true, type: 'c', major: 4, minor: 64, access: 'rwm' }] });
  });

  it('with no capabilities anywhere, capabilities is an empty object', () => {
    const { spec } = buildOciSpec({ name: 's', image: 'x' }, {});
    expect(goMarshalIndent((spec.process as Record<string, unknown>).capabilities)).toBe('{}');
  });

  it('a label that sets name is rejected', () => {
    expect(() => buildOciSpec({ name: 's', image: 'x' }, { Labels: { 'org.mobyproject.config': '{"name":"evil"}' } })).toThrow('name cannot be set');
  });
});

describe('validateConfig', () => {
  it('accepts every key of LinuxKit schema at its type', () => {
    const yaml = `kernel: {image: k, cmdline: c, binary: b, tar: none, ucode: u}
init: [a]
onboot:
  - name: x
    image: y
    capabilities: [all]
    capabilities.add: [CAP_CHOWN]
    ambient: []
    mounts: [{destination: /a, type: bind, source: /b, options: [rw], uidmappings: [{hostID: 1, containerID: 0, size: 1}]}]
    binds: [/a:/a]
    binds.add: [/b:/b]
    devices: [{path: all, type: b, major: 1, minor: 2, mode: "0666"}]
    tmpfs: [/t]
    command: [c]
    env: [A=1]
    cwd: /
    net: host
    pid: host
    ipc: host
    uts: host
    userns: host
    readonly: true
    maskedPaths: [/m]
    readonlyPaths: [/r]
    uid: 1
    gid: root
    additionalGids: [1, root]
    noNewPrivileges: true
    hostname: h
    oomScoreAdj: 1
    rootfsPropagation: shared
    cgroupsPath: /c
    resources: {devices: [{allow: true, type: a, major: 1, minor: 1, access: r}], memory: {limit: 1, kernelTCP: 1, disableOOMKiller: true}, cpu: {shares: 1, cpus: "0"}, pids: {limit: 1}, blockio: {weight: 1, weightDevice: [{major: 1, minor: 1, weight: 1, leafWeight: 1}], throttleReadBpsDevice: [{major: 1, minor: 1, rate: 1}]}, hugepageLimits: [{pageSize: 1, limit: 1}], network: {classID: 1, priorities: [{name: n, priority: 1}]}}
    sysctl: {a: b}
    rlimits: ["nofile,1,2"]
    uidMappings: [{hostID: 1, containerID: 1, size: 1}]
    gidMappings: []
    annotations: {a: b}
    runtime: {cgroups: [c], mounts: [], mkdir: [/m], interfaces: [{name: n, add: veth, peer: p, createInRoot: true}], bindNS: {cgroup: a, ipc: a, mnt: a, net: a, pid: a, user: a, uts: a}, namespace: n}
files: [{path: p, directory: false, symlink: s, contents: c, source: s, metadata: yaml, optional: true, mode: "0644", uid: 1, gid: x}]
volumes: [{name: v, image: i, readonly: true, format: oci, platforms: [linux/amd64]}]
trust: {image: [a], org: [b]}
`;
    expect(() => validateConfig(yaml, 'all.yaml')).not.toThrow();
  });
});
