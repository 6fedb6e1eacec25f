/**
 * config.json and runtime.json for an onboot/onshutdown/service container, as LinuxKit's
 * ConfigToOCI (moby/config.go) builds them. Precedence is yaml > `org.mobyproject.config` label >
 * image config, field by field, with LinuxKit's quirks kept because they change the result:
 * `binds`/`capabilities` are label ++ yaml `.add` (label first, duplicates kept), a plain yaml
 * `binds` drops `binds.add`, `env` is replaced as a whole, the image's `User` is ignored, and
 * nested structs LinuxKit decodes with Go's default yaml keys lose their camelCase fields.
 */
import { parse as parseYaml } from 'yaml';
import { UserError } from '@hook/log';
import type { DeviceYaml, IdMapping, ImageConfigYaml, ImageYaml, InterfaceYaml, MountYaml, RuntimeYaml } from './config';
import { formatPath, validateValue } from './validate';

/** The 41 capabilities LinuxKit knows, in numeric order (moby/sys/capability ListKnown). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

export const LABEL_NAME = 'org.mobyproject.config';

/** The image config fields LinuxKit reads (OCI image config `config` object). */
export interface ImageRunConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string> | null;
}

type Json = Record<string, unknown>;

export interface OciResult {
  /** The runtime-spec object, keys in Go field order, omitempty applied. */
  spec: Json;
  /** runtime.json content before the bundle's rootfs mounts are prepended. */
  runtime: Json & { mounts: Json[] };
  readonly: boolean;
}

/**
 * Parses and validates an `org.mobyproject.config` label as LinuxKit's NewImage does: YAML/JSON
 * object, checked against the image schema, and it may not set `name` or `image`.
 */
export function parseLabel(text: string, imageRef: string): ImageConfigYaml {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new UserError(`image ${imageRef}: the ${LABEL_NAME} label is not valid JSON/YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(`image ${imageRef}: the ${LABEL_NAME} label must be a JSON object`);
  }
  const record = value as Record<string, unknown>;
  const problems = validateValue({ name: 'dummyname', image: 'dummyimage', ...record }, 'image');
  if (problems.length > 0) {
    const p = problems[0]!;
    throw new UserError(`image ${imageRef}: the ${LABEL_NAME} label is invalid: ${formatPath(p.path)}: ${p.message}; rebuild the image with a valid label`);
  }
  if (record.name) throw new UserError(`image ${imageRef}: name cannot be set in the ${LABEL_NAME} label`);
  if (record.image) throw new UserError(`image ${imageRef}: image cannot be set in the ${LABEL_NAME} label`);
  return record as ImageConfigYaml;
}

function fail(context: string, message: string): never {
  throw new UserError(`${context}: ${message}`);
}

const nonEmpty = <T>(list: T[] | undefined): T[] | undefined => (list && list.length > 0 ? list : undefined);
const nonEmptyMap = (map: Record<string, string> | undefined) => (map && Object.keys(map).length > 0 ? map : undefined);
const goLess = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

// Go's yaml.v3 decodes LinuxIDMapping with lowercased field names (hostid, containerid): the
// schema's hostID/containerID keys are never read, so they come out as 0. Kept for parity.
function idMapping(m: IdMapping): Json {
  return { containerID: 0, hostID: 0, size: m.size ?? 0 };
}

function mountJson(m: { destination: string; type?: string; source?: string; options?: string[]; uidmappings?: IdMapping[]; gidmappings?: IdMapping[] }): Json {
  return {
    destination: m.destination,
    type: m.type || undefined,
    source: m.source || undefined,
    options: nonEmpty(m.options),
    uidMappings: nonEmpty(m.uidmappings?.map(idMapping)),
    gidMappings: nonEmpty(m.gidmappings?.map(idMapping)),
  };
}

function pick<T>(label: T | undefined, yaml: T | undefined): T | undefined {
  return yaml !== undefined ? yaml : label;
}

// mergeStrings never fills its "seen" map: duplicates survive, label entries first.
function mergeStrings(label: string[] | undefined, add: string[] | undefined): string[] {
  if (!label && !add) return [];
  if (!add) return label!;
  if (!label) return add;
  return [...label, ...add];
}

// Go yaml.v3 field names for specs.LinuxResources: only single-word keys are decoded.
function resourcesFrom(raw: Record<string, unknown> | undefined): Json {
  if (!raw) return {};
  const r = raw as Record<string, Record<string, unknown> | Array<Record<string, unknown>> | undefined>;
  const only = (obj: Record<string, unknown> | undefined, keys: string[]) => {
    if (!obj) return undefined;
    const out: Json = {};
    for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
    return out;
  };
  const devices = (r.devices as Array<Record<string, unknown>> | undefined)?.map((d) => ({
    allow: d.allow ?? false,
    type: d.type || undefined,
    major: d.major,
    minor: d.minor,
    access: d.access || undefined,
  }));
  const memory = only(r.memory as Record<string, unknown>, ['limit', 'reservation', 'swap', 'kernel', 'swappiness']);
  const cpu = only(r.cpu as Record<string, unknown>, ['shares', 'quota', 'period', 'cpus', 'mems']);
  const pids = r.pids ? { limit: (r.pids as Record<string, unknown>).limit ?? 0 } : undefined;
  const blockIO = r.blockio ? only(r.blockio as Record<string, unknown>, ['weight']) : undefined;
  const network = r.network
    ? {
        priorities: nonEmpty(
          ((r.network as Record<string, unknown>).priorities as Array<Record<string, unknown>> | undefined)?.map((p) => ({ name: p.name ?? '', priority: p.priority ?? 0 })),
        ),
      }
    : undefined;
  return {
    devices: nonEmpty(devices),
    memory: memory && { limit: memory.limit, reservation: memory.reservation, swap: memory.swap, kernel: memory.kernel, swappiness: memory.swappiness },
    cpu: cpu && { shares: cpu.shares, quota: cpu.quota, period: cpu.period, cpus: cpu.cpus || undefined, mems: cpu.mems || undefined },
    pids,
    blockIO,
    network,
  };
}

function idNumeric(value: string | number | undefined, idMap: ReadonlyMap<string, number>, context: string): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value >>> 0; // uint32(id), as Go converts
  if (value === '' || value === 'root') return 0;
  const id = idMap.get(value);
  if (id === undefined) fail(context, `cannot find id: ${value} (use a number, root, or the name of an onboot/onshutdown/service container)`);
  return id;
}

const UINT64_MAX = (1n << 64n) - 1n;
const RLIMITS = new Set([
  'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_DATA', 'RLIMIT_STACK', 'RLIMIT_CORE', 'RLIMIT_RSS', 'RLIMIT_NPROC', 'RLIMIT_NOFILE',
  'RLIMIT_MEMLOCK', 'RLIMIT_AS', 'RLIMIT_LOCKS', 'RLIMIT_SIGPENDING', 'RLIMIT_MSGQUEUE', 'RLIMIT_NICE', 'RLIMIT_RTPRIO', 'RLIMIT_RTTIME',
]);

function rlimitValue(text: string, context: string): bigint {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === 'unlimited') return UINT64_MAX;
  if (!/^[0-9]+$/.test(trimmed) || BigInt(trimmed) > UINT64_MAX) fail(context, `cannot parse ${trimmed} as uint64 in rlimits`);
  return BigInt(trimmed);
}

function expandCaps(list: string[]): string[] {
  if (list.length === 1) {
    const word = list[0]!.toLowerCase();
    if (word === 'none') return [];
    if (word === 'all') return [...ALL_CAPABILITIES];
  }
  return list;
}

function namespacePath(value: string, newWords: string[]): string | undefined {
  if (value === 'host' || value === 'root') return undefined;
  return newWords.includes(value) ? '' : value;
}

/**
 * Builds config.json's runtime spec and runtime.json for an image entry. `imageConfig` is the
 * image's OCI config (`config` object); `idMap` maps container names to their uid/gid.
 * `context` prefixes errors (e.g. `hook.yaml:12: services[3] getty`).
 */
export function buildOciSpec(image: ImageYaml, imageConfig: ImageRunConfig | undefined, idMap: ReadonlyMap<string, number> = new Map(), context = image.name): OciResult {
  const config = imageConfig ?? {};
  const labelText = config.Labels?.[LABEL_NAME];
  const label: ImageConfigYaml = labelText ? parseLabel(labelText, image.image) : {};
  const yaml = image;

  const inspectCommand = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  const args = yaml.command ?? label.command ?? inspectCommand;
  const env = yaml.env ?? label.env ?? config.Env ?? [];
  const cwd = yaml.cwd || label.cwd || config.WorkingDir || '/';
  const readonly = pick(label.readonly, yaml.readonly) ?? false;

  const mounts = new Map<string, Json>();
  const add = (m: Parameters<typeof mountJson>[0]) => mounts.set(m.destination, mountJson(m));
  add({ destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'nodev', 'noexec', 'relatime'] });
  add({ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k', ...(readonly ? ['ro'] : [])] });
  add({ destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] });
  add({ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...(readonly ? ['ro'] : [])] });
  add({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] });
  for (const t of pick(label.tmpfs, yaml.tmpfs) ?? []) {
    const parts = t.split(':');
    if (parts.length > 2) fail(context, `cannot parse tmpfs, too many ':': ${t}`);
    add({ destination: parts[0]!, type: 'tmpfs', source: 'tmpfs', options: parts.length === 2 ? parts[1]!.split(',') : undefined });
  }
  const binds = yaml.binds ?? mergeStrings(label.binds, yaml['binds.add']);
  for (const b of binds) {
    const parts = b.split(':');
    if (parts.length < 2) fail(context, `cannot parse bind, missing ':': ${b}`);
    if (parts.length > 3) fail(context, `cannot parse bind, too many ':': ${b}`);
    const options = parts.length === 3 ? [...parts[2]!.split(','), 'rbind'] : ['rw', 'rbind', 'rshared'];
    add({ destination: parts[1]!, type: 'bind', source: parts[0]!, options });
  }
  for (const m of pick(label.mounts, yaml.mounts) ?? []) {
    let type = m.type ?? '';
    let source = m.source ?? '';
    let destination = m.destination ?? '';
    if (!type && ['mqueue', 'devpts', 'proc', 'sysfs', 'cgroup'].includes(source)) type = source;
    if (!type && destination === '/dev') type = 'tmpfs';
    if (!type) fail(context, `mount for destination ${destination} is missing type`);
    if (!source) source = type;
    if (!destination) destination = DEFAULT_MOUNTPOINTS[type] ?? '';
    if (!destination) fail(context, `mount type ${type} is missing destination`);
    add({ ...m, destination, type, source });
  }
  const mountList = [...mounts.values()].sort((a, b) => goLess(a.destination as string, b.destination as string));

  const namespaces: Json[] = [];
  const nsEntry = (type: string, path: string | undefined) => {
    if (path !== undefined) namespaces.push({ type, path: path || undefined });
  };
  nsEntry('network', namespacePath(yaml.net || label.net || 'root', ['none', 'new']));
  nsEntry('ipc', namespacePath(yaml.ipc || label.ipc || 'root', ['new']));
  nsEntry('uts', namespacePath(yaml.uts || label.uts || 'root', ['new']));
  nsEntry('pid', namespacePath(yaml.pid || label.pid || '', ['new']));
  nsEntry('user', namespacePath(yaml.userns || label.userns || 'root', ['new']));
  namespaces.push({ type: 'mount' });

  const known = new Set<string>(ALL_CAPABILITIES);
  const caps = expandCaps(yaml.capabilities ?? mergeStrings(label.capabilities, yaml['capabilities.add']));
  const ambient = expandCaps(pick(label.ambient, yaml.ambient) ?? []);
  for (const cap of [...caps, ...ambient]) if (!known.has(cap)) fail(context, `unknown capability: ${cap} (use names like CAP_NET_ADMIN, or all / none)`);
  const bounding = [...new Set([...caps, ...ambient])].sort(goLess);

  const rlimits = (pick(label.rlimits, yaml.rlimits) ?? []).map((text) => {
    const parts = splitN(text, ',', 3);
    if (parts.length !== 3) fail(context, `cannot parse rlimit: ${text} (want name,soft,hard)`);
    let type = parts[0]!.trim().toUpperCase();
    if (!type.startsWith('RLIMIT_')) type = `RLIMIT_${type}`;
    const soft = rlimitValue(parts[1]!, context);
    const hard = rlimitValue(parts[2]!, context);
    if (!RLIMITS.has(type)) fail(context, `unknown limit: ${parts[0]}`);
    return { type, hard, soft };
  });

  const uid = idNumeric(pick(label.uid, yaml.uid), idMap, context);
  const gid = idNumeric(pick(label.gid, yaml.gid), idMap, context);
  const additionalGids = (pick(label.additionalGids, yaml.additionalGids) ?? []).map((g) => idNumeric(g, idMap, context));

  const resources = resourcesFrom(pick(label.resources, yaml.resources));
  const resourceDevices = (resources.devices as Json[] | undefined) ?? [];
  const linuxDevices: Json[] = [];
  for (const device of pick<DeviceYaml[]>(label.devices, yaml.devices) ?? []) {
    if (device.path === 'all') {
      resourceDevices.push({ allow: true, type: device.type || undefined, access: 'rwm' });
      continue;
    }
    const modeText = device.mode ?? '';
    if (!/^[+-]?[0-7]+$/.test(modeText) || Math.abs(parseInt(modeText, 8)) > 0x7fffffff) {
      fail(context, `cannot parse device mode as octal value: ${JSON.stringify(modeText)} (device ${device.path})`);
    }
    const major = device.major ?? 0;
    const minor = device.minor ?? 0;
    linuxDevices.push({ path: device.path ?? '', type: device.type ?? '', major, minor, fileMode: parseInt(modeText, 8) >>> 0 });
    resourceDevices.push({ allow: true, type: device.type || undefined, major, minor, access: 'rwm' });
  }
  resources.devices = nonEmpty(resourceDevices);

  const spec: Json = {
    ociVersion: '1.2.1',
    process: {
      user: { uid, gid, additionalGids: nonEmpty(additionalGids) },
      args: nonEmpty(args),
      env: nonEmpty(env),
      cwd,
      capabilities: {
        bounding: nonEmpty(bounding),
        effective: nonEmpty(caps),
        inheritable: nonEmpty(bounding),
        permitted: nonEmpty(bounding),
        ambient: nonEmpty(ambient),
      },
      rlimits: nonEmpty(rlimits),
      noNewPrivileges: pick(label.noNewPrivileges, yaml.noNewPrivileges) || undefined,
      oomScoreAdj: pick(label.oomScoreAdj, yaml.oomScoreAdj),
    },
    root: { path: 'rootfs', readonly: readonly || undefined },
    hostname: yaml.hostname || label.hostname || undefined,
    mounts: nonEmpty(mountList),
    annotations: nonEmptyMap(pick(label.annotations, yaml.annotations)),
    linux: {
      uidMappings: nonEmpty(pick(label.uidMappings, yaml.uidMappings)?.map(idMapping)),
      gidMappings: nonEmpty(pick(label.gidMappings, yaml.gidMappings)?.map(idMapping)),
      sysctl: nonEmptyMap(pick(label.sysctl, yaml.sysctl)),
      resources,
      cgroupsPath: pick(label.cgroupsPath, yaml.cgroupsPath) || undefined,
      namespaces,
      devices: nonEmpty(linuxDevices),
      rootfsPropagation: pick(label.rootfsPropagation, yaml.rootfsPropagation) || undefined,
      maskedPaths: nonEmpty(pick(label.maskedPaths, yaml.maskedPaths)),
      readonlyPaths: nonEmpty(pick(label.readonlyPaths, yaml.readonlyPaths)),
    },
  };
  return { spec, runtime: runtimeFrom(label.runtime, yaml.runtime), readonly };
}

const DEFAULT_MOUNTPOINTS: Record<string, string> = {
  proc: '/proc',
  devpts: '/dev/pts',
  sysfs: '/sys',
  cgroup: '/sys/fs/cgroup',
  mqueue: '/dev/mqueue',
};

function splitN(text: string, separator: string, n: number): string[] {
  const parts = text.split(separator);
  return parts.length <= n ? parts : [...parts.slice(0, n - 1), parts.slice(n - 1).join(separator)];
}

function runtimeMount(m: MountYaml): Json {
  return mountJson({ ...m, destination: m.destination ?? '' });
}

function interfaceJson(i: InterfaceYaml): Json {
  return { name: i.name || undefined, add: i.add || undefined, peer: i.peer || undefined, createInRoot: i.createInRoot ?? false };
}

/** assignRuntime: every runtime field is yaml ?? label ?? empty, one by one. */
function runtimeFrom(label: RuntimeYaml | undefined, yaml: RuntimeYaml | undefined): OciResult['runtime'] {
  const l = label ?? {};
  const y = yaml ?? {};
  const ns = (key: keyof NonNullable<RuntimeYaml['bindNS']>) => y.bindNS?.[key] ?? l.bindNS?.[key] ?? '';
  return {
    cgroups: y.cgroups ?? l.cgroups ?? [],
    mounts: (y.mounts ?? l.mounts ?? []).map(runtimeMount),
    mkdir: y.mkdir ?? l.mkdir ?? [],
    interfaces: (y.interfaces ?? l.interfaces ?? []).map(interfaceJson),
    bindNS: { cgroup: ns('cgroup'), ipc: ns('ipc'), mnt: ns('mnt'), net: ns('net'), pid: ns('pid'), user: ns('user'), uts: ns('uts') },
    namespace: y.namespace ?? l.namespace ?? '',
  };
}
