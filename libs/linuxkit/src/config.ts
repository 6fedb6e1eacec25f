/**
 * Reading a LinuxKit YAML file the way `linuxkit build` does (moby/config.go NewConfig): YAML,
 * then LinuxKit's JSON schema, then the checks on names. Every error is a UserError that names
 * the file, the line and the YAML path.
 */
import { dirname } from 'node:path';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { UserError, yamlErrorLine } from '@hook/log';
import { formatPath, validateValue, type Problem, type ValuePath } from './validate';

export interface IdMapping {
  hostID?: number;
  containerID?: number;
  size?: number;
}

export interface MountYaml {
  destination?: string;
  type?: string;
  source?: string;
  options?: string[];
  uidmappings?: IdMapping[];
  gidmappings?: IdMapping[];
}

export interface DeviceYaml {
  path?: string;
  type?: string;
  major?: number;
  minor?: number;
  mode?: string;
}

export interface InterfaceYaml {
  name?: string;
  add?: string;
  peer?: string;
  createInRoot?: boolean;
}

export interface NamespacesYaml {
  cgroup?: string;
  ipc?: string;
  mnt?: string;
  net?: string;
  pid?: string;
  user?: string;
  uts?: string;
}

export interface RuntimeYaml {
  cgroups?: string[];
  mounts?: MountYaml[];
  mkdir?: string[];
  interfaces?: InterfaceYaml[];
  bindNS?: NamespacesYaml;
  namespace?: string;
}

/** The part of an image entry that the `org.mobyproject.config` label may also set. */
export interface ImageConfigYaml {
  capabilities?: string[];
  'capabilities.add'?: string[];
  ambient?: string[];
  mounts?: MountYaml[];
  binds?: string[];
  'binds.add'?: string[];
  devices?: DeviceYaml[];
  tmpfs?: string[];
  command?: string[];
  env?: string[];
  cwd?: string;
  net?: string;
  pid?: string;
  ipc?: string;
  uts?: string;
  userns?: string;
  hostname?: string;
  readonly?: boolean;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  uid?: string | number;
  gid?: string | number;
  additionalGids?: Array<string | number>;
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  rootfsPropagation?: string;
  cgroupsPath?: string;
  resources?: Record<string, unknown>;
  sysctl?: Record<string, string>;
  rlimits?: string[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  annotations?: Record<string, string>;
  runtime?: RuntimeYaml;
}

export interface ImageYaml extends ImageConfigYaml {
  name: string;
  image: string;
}

export interface FileYaml {
  path?: string;
  directory?: boolean;
  symlink?: string;
  contents?: string;
  source?: string;
  metadata?: string;
  optional?: boolean;
  mode?: string;
  uid?: string | number;
  gid?: string | number;
}

export interface KernelYaml {
  image?: string;
  cmdline?: string;
  binary?: string;
  tar?: string;
  ucode?: string;
}

export interface VolumeYaml {
  name?: string;
  image?: string;
  readonly?: boolean;
  format?: 'oci' | 'filesystem';
  platforms?: string[];
}

export interface MobyConfig {
  kernel?: KernelYaml;
  init?: string[];
  onboot?: ImageYaml[];
  onshutdown?: ImageYaml[];
  services?: ImageYaml[];
  files?: FileYaml[];
  volumes?: VolumeYaml[];
  trust?: { image?: string[]; org?: string[] };
}

export interface ParsedConfig {
  config: MobyConfig;
  /** The file name used in messages. */
  fileName: string;
  /** The directory relative `files[].source` paths are read from. */
  baseDir: string;
  /** `hook.yaml:42` for a YAML path (the nearest existing node). */
  where(path: ValuePath): string;
}

const VOLUME_NAME = /^[a-z0-9_-]*$/;

/**
 * Parses and validates a LinuxKit YAML text. `fileName` is the path shown in errors (and, unless
 * `baseDir` is given, the directory relative `source` files are read from).
 */
export function validateConfig(text: string, fileName = 'linuxkit.yaml', baseDir?: string): ParsedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const shown = fileName;
  if (doc.errors.length > 0) {
    const error = doc.errors[0]!;
    const { line, message } = yamlErrorLine(error, lineCounter.linePos(error.pos[0]).line);
    throw new UserError(`${shown}:${line}: YAML syntax error: ${message}; fix the YAML`);
  }
  const where = (path: ValuePath, atKey = false) => `${shown}:${lineFor(doc, lineCounter, path, atKey)}`;
  const value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  if (value === null || value === undefined) {
    throw new UserError(`${shown}: the file is empty; it needs at least a kernel, init or services section`);
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(`${shown}:1: the top level must be a mapping (kernel:, init:, onboot:, services:, files: ...)`);
  }
  const problems = validateValue(value, 'moby');
  if (problems.length > 0) throw problemsError(problems, (p) => where(p.path, p.atKey));
  const config = value as MobyConfig;
  checkNames(config, (path) => where(path));
  return {
    config,
    fileName: shown,
    baseDir: baseDir ?? dirname(fileName),
    where: (path) => where(path),
  };
}

function problemsError(problems: Problem[], locate: (p: Problem) => string): UserError {
  const [first, ...rest] = problems;
  const more = rest.length > 0 ? ` (and ${rest.length} more: ${rest.slice(0, 3).map((p) => `${formatPath(p.path)}: ${p.message}`).join('; ')}${rest.length > 3 ? '; ...' : ''})` : '';
  return new UserError(`${locate(first!)}: ${formatPath(first!.path)}: ${first!.message}${more}`);
}

function checkNames(config: MobyConfig, where: (path: ValuePath) => string): void {
  const seen = new Set<string>();
  (config.services ?? []).forEach((service, i) => {
    if (seen.has(service.name)) {
      throw new UserError(`${where(['services', i, 'name'])}: duplicate service name: ${service.name}; service names must be unique`);
    }
    seen.add(service.name);
  });
  for (const section of ['onboot', 'onshutdown', 'services'] as const) {
    (config[section] ?? []).forEach((image, i) => {
      // The name becomes a directory under containers/: a slash or '..' would escape it.
      if (image.name === '' || image.name.includes('/') || image.name === '.' || image.name === '..') {
        throw new UserError(`${where([section, i, 'name'])}: ${section}[${i}].name ${JSON.stringify(image.name)} cannot be a directory name; use letters, digits, '-' or '_'`);
      }
    });
  }
  const volumes = new Set<string>();
  (config.volumes ?? []).forEach((volume, i) => {
    const name = volume.name ?? '';
    if (!VOLUME_NAME.test(name)) throw new UserError(`${where(['volumes', i, 'name'])}: invalid volume name: ${name} (use a-z, 0-9, '_' and '-')`);
    if (volumes.has(name)) throw new UserError(`${where(['volumes', i, 'name'])}: duplicate volume name: ${name}`);
    volumes.add(name);
  });
}

function lineFor(doc: Document, lineCounter: LineCounter, path: ValuePath, atKey: boolean): number {
  // Walk up to the nearest node that exists (a missing key points at its parent mapping).
  for (let depth = path.length; depth >= 0; depth--) {
    const partial = path.slice(0, depth);
    if (atKey && depth === path.length && depth > 0) {
      const parent = partial.length > 1 ? doc.getIn(partial.slice(0, -1), true) : doc.contents;
      if (isMap(parent)) {
        const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === partial[partial.length - 1]);
        if (pair && isNode(pair.key) && pair.key.range) return lineCounter.linePos(pair.key.range[0]).line;
      }
      continue;
    }
    const node = partial.length === 0 ? doc.contents : doc.getIn(partial, true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}

/** Reference expansion as LinuxKit's util.ReferenceExpand: `foo` -> `docker.io/library/foo`. No `:latest`. */
export function referenceExpand(ref: string): string {
  const parts = ref.split('/');
  if (parts.length === 1) return `docker.io/library/${ref}`;
  if (parts.length === 2) {
    const first = parts[0]!;
    if (!first.includes('.') && !first.includes(':') && first !== 'localhost') return `docker.io/${ref}`;
  }
  return ref;
}

