/**
 * LinuxKit's YAML schema (v1.8.2, src/cmd/linuxkit/moby/schema.go), as a JSON-schema subset that
 * `validate.ts` understands: type, properties, additionalProperties, required, items, anyOf,
 * enum and $ref. Same keys and types as LinuxKit, so a file accepted here is accepted there.
 */
export interface SchemaNode {
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  properties?: Record<string, SchemaNode>;
  /** false: no other keys; a schema: every other value must match it. */
  additionalProperties?: false | SchemaNode;
  required?: string[];
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  enum?: string[];
  $ref?: string;
}

const str: SchemaNode = { type: 'string' };
const int: SchemaNode = { type: 'integer' };
const bool: SchemaNode = { type: 'boolean' };
const ref = (name: string): SchemaNode => ({ $ref: name });
const arrayOf = (items: SchemaNode): SchemaNode => ({ type: 'array', items });
const object = (properties: Record<string, SchemaNode>, required?: string[]): SchemaNode => ({
  type: 'object',
  additionalProperties: false,
  properties,
  ...(required ? { required } : {}),
});
const stringOrInt: SchemaNode = { anyOf: [str, int] };

export const definitions: Record<string, SchemaNode> = {
  kernel: object({ image: str, cmdline: str, binary: str, tar: str, ucode: str }),
  file: object({
    path: str,
    directory: bool,
    symlink: str,
    contents: str,
    source: str,
    metadata: str,
    optional: bool,
    mode: str,
    uid: stringOrInt,
    gid: stringOrInt,
  }),
  files: arrayOf(ref('file')),
  volume: object({ name: str, image: str, readonly: bool, format: { enum: ['oci', 'filesystem'] }, platforms: ref('strings') }),
  volumes: arrayOf(ref('volume')),
  trust: object({ image: ref('strings'), org: ref('strings') }),
  strings: arrayOf(str),
  mapstring: { type: 'object', additionalProperties: str },
  mount: object({
    destination: str,
    type: str,
    source: str,
    options: ref('strings'),
    uidmappings: arrayOf(ref('idmapping')),
    gidmappings: arrayOf(ref('idmapping')),
  }),
  mounts: arrayOf(ref('mount')),
  device: object({ path: str, type: str, major: int, minor: int, mode: str }),
  devices: arrayOf(ref('device')),
  idmapping: object({ hostID: int, containerID: int, size: int }),
  idmappings: arrayOf(ref('idmapping')),
  devicecgroups: arrayOf(ref('devicecgroup')),
  devicecgroup: object({ allow: bool, type: str, major: int, minor: int, access: str }),
  memory: object({ limit: int, reservation: int, swap: int, kernel: int, kernelTCP: int, swappiness: int, disableOOMKiller: bool }),
  cpu: object({ shares: int, quota: int, period: int, realtimeRuntime: int, realtimePeriod: int, cpus: str, mems: str }),
  pids: object({ limit: int }),
  weightdevices: arrayOf(ref('weightdevice')),
  weightdevice: object({ major: int, minor: int, weight: int, leafWeight: int }),
  throttledevices: arrayOf(ref('throttledevice')),
  throttledevice: object({ major: int, minor: int, rate: int }),
  blockio: object({
    weight: int,
    leafWeight: int,
    weightDevice: ref('weightdevices'),
    throttleReadBpsDevice: ref('throttledevices'),
    throttleWriteBpsDevice: ref('throttledevices'),
    throttleReadIOPSDevice: ref('throttledevices'),
    throttleWriteIOPSDevice: ref('throttledevices'),
  }),
  hugepagelimits: arrayOf(ref('hugepagelimit')),
  hugepagelimit: object({ pageSize: int, limit: int }),
  interfacepriorities: arrayOf(ref('interfacepriority')),
  interfacepriority: object({ name: str, priority: int }),
  network: object({ classID: int, priorities: ref('interfacepriorities') }),
  resources: object({
    devices: ref('devicecgroups'),
    memory: ref('memory'),
    cpu: ref('cpu'),
    pids: ref('pids'),
    blockio: ref('blockio'),
    hugepageLimits: ref('hugepagelimits'),
    network: ref('network'),
  }),
  interfaces: arrayOf(ref('interface')),
  interface: object({ name: str, add: str, peer: str, createInRoot: bool }),
  namespaces: object({ cgroup: str, ipc: str, mnt: str, net: str, pid: str, user: str, uts: str }),
  runtime: object({
    cgroups: ref('strings'),
    mounts: ref('mounts'),
    mkdir: ref('strings'),
    interfaces: ref('interfaces'),
    bindNS: ref('namespaces'),
    namespace: str,
  }),
  image: object(
    {
      name: str,
      image: str,
      capabilities: ref('strings'),
      'capabilities.add': ref('strings'),
      ambient: ref('strings'),
      mounts: ref('mounts'),
      binds: ref('strings'),
      'binds.add': ref('strings'),
      devices: ref('devices'),
      tmpfs: ref('strings'),
      command: ref('strings'),
      env: ref('strings'),
      cwd: str,
      net: str,
      pid: str,
      ipc: str,
      uts: str,
      userns: str,
      readonly: bool,
      maskedPaths: ref('strings'),
      readonlyPaths: ref('strings'),
      uid: stringOrInt,
      gid: stringOrInt,
      additionalGids: arrayOf(stringOrInt),
      noNewPrivileges: bool,
      hostname: str,
      oomScoreAdj: int,
      rootfsPropagation: str,
      cgroupsPath: str,
      resources: ref('resources'),
      sysctl: ref('mapstring'),
      rlimits: ref('strings'),
      uidMappings: ref('idmappings'),
      gidMappings: ref('idmappings'),
      annotations: ref('mapstring'),
      runtime: ref('runtime'),
    },
    ['name', 'image'],
  ),
  images: arrayOf(ref('image')),
};

/** The top level. Like LinuxKit's, it has no `type`, but a non-mapping is rejected by the parser. */
export const mobySchema: SchemaNode = {
  additionalProperties: false,
  properties: {
    kernel: ref('kernel'),
    init: ref('strings'),
    onboot: ref('images'),
    onshutdown: ref('images'),
    services: ref('images'),
    trust: ref('trust'),
    files: ref('files'),
    volumes: ref('volumes'),
  },
};
