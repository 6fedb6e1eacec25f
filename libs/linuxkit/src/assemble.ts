/**
 * LinuxKit's `Build()` (moby/build/build.go) in TypeScript: the root filesystem of a HookOS
 * image as a stream of entries, in LinuxKit's order: kernel -> init -> onboot -> onshutdown ->
 * services -> files. The same path may appear more than once; the last one wins.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute as isAbsolutePath, join, posix, relative as relativePath, resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import { stringify as yamlStringify } from 'yaml';
import { UserError, log } from '@hook/log';
import type { FsEntry } from '@hook/initramfs';
import { type FileYaml, type ImageYaml, type MobyConfig, type ParsedConfig, referenceExpand, validateConfig } from './config';
import { cleanPath, entryFromHeader, flattenLayers, readTar } from './flatten';
import { goMarshalIndent } from './go-json';
import { buildOciSpec, type ImageRunConfig } from './oci-spec';
import { type ImageResolver, type ImageSource, requireImage } from './resolver';
import { renderTemplate } from '@hook/inventory';
import { TreeGuard } from './tree-guard';

/** LinuxKit's defaultModTime, 2017-04-18T16:30:00Z: the mtime of every generated entry. */
export const DEFAULT_MTIME = 1492533000;
const RESOLV_SYMLINK = '/run/resolvconf/resolv.conf';
const APK_DB = 'lib/apk/db/installed';

const HOSTS = `127.0.0.1       localhost
::1     localhost ip6-localhost ip6-loopback
fe00::0 ip6-localnet
ff00::0 ip6-mcastprefix
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
`;
const NO_RESOLV = `
# no resolv.conf configured
`;
/** Image paths LinuxKit never copies (Docker artefacts; dev/console must be a device, not a file). */
const EXCLUDED = new Set(['.dockerenv', 'Dockerfile', 'dev/console', 'dev/pts', 'dev/shm', 'etc/hostname']);

export interface AssembleOptions {
  /** The LinuxKit YAML file; or give its text as `yamlText` (then `yamlPath` only names it). */
  yamlPath?: string;
  yamlText?: string;
  /** When set, the text is a template rendered with these variables first. */
  templateVars?: Record<string, string | undefined>;
  /** Target architecture (amd64, arm64). */
  arch: string;
  resolver: ImageResolver;
  /** The kernel as files; without it the YAML's kernel.image is resolved like other images. */
  kernelDir?: string;
  /** mtime of generated entries; default LinuxKit's 1492533000. */
  sourceDateEpoch?: number;
  /** Where relative `files[].source` are read from; default the YAML file's directory. */
  baseDir?: string;
  /** For `~/` in sources; default $HOME. */
  homeDir?: string;
}

/** The result of the checks done before anything is emitted. */
interface Plan {
  parsed: ParsedConfig;
  config: MobyConfig;
  kernel?: { kind: 'dir'; dir: string } | { kind: 'image'; source: ImageSource };
  init: ImageSource[];
  containers: Array<{ section: 'onboot' | 'onshutdown' | 'services'; index: number; image: ImageYaml; source: ImageSource; where: string }>;
  files: PlannedFile[];
  idMap: Map<string, number>;
  mtime: number;
}

interface PlannedFile {
  index: number;
  path: string;
  type: 'directory' | 'symlink' | 'file';
  mode: number;
  dirMode: number;
  uid: number;
  gid: number;
  linkTarget?: string;
  contents?: Buffer;
  sourcePath?: string;
  size?: number;
}

/** Reads and checks everything (YAML, images, architectures, files), then streams the entries. */
export async function* assemble(options: AssembleOptions): AsyncGenerator<FsEntry> {
  const plan = await planAssembly(options);
  yield* emit(plan);
}

export async function loadConfig(options: Pick<AssembleOptions, 'yamlPath' | 'yamlText' | 'templateVars' | 'baseDir'>): Promise<ParsedConfig> {
  // Errors name the file as other errors do: relative to the workspace (the working directory).
  const name = options.yamlPath ? shownPath(options.yamlPath) : 'linuxkit.yaml';
  let text = options.yamlText;
  if (text === undefined) {
    if (!options.yamlPath) throw new UserError('no LinuxKit YAML given: pass yamlPath or yamlText');
    try {
      text = await readFile(options.yamlPath, 'utf8');
    } catch (error) {
      throw new UserError(`cannot read ${options.yamlPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  if (options.templateVars) text = renderTemplate(text, options.templateVars, name);
  return validateConfig(text, name, options.baseDir ?? (options.yamlPath ? posix.dirname(resolvePath(options.yamlPath)) : process.cwd()));
}

async function planAssembly(options: AssembleOptions): Promise<Plan> {
  const parsed = await loadConfig(options);
  const config = parsed.config;
  const where = parsed.where;
  if (config.volumes && config.volumes.length > 0) {
    throw new UserError(`${where(['volumes'])}: volumes are not supported by the native assembler; remove them or use the linuxkit backend`);
  }
  let kernel: Plan['kernel'];
  if (options.kernelDir) kernel = { kind: 'dir', dir: options.kernelDir };
  else if (config.kernel?.image) kernel = { kind: 'image', source: await requireImage(options.resolver, config.kernel.image, options.arch, `${where(['kernel', 'image'])}: kernel`) };

  const init: ImageSource[] = [];
  for (const [i, ref] of (config.init ?? []).entries()) {
    init.push(await requireImage(options.resolver, ref, options.arch, `${where(['init', i])}: init[${i}]`));
  }

  // uid/gid names: every container gets an id from 100 up, onboot, onshutdown, services.
  const idMap = new Map<string, number>();
  let nextId = 100;
  const containers: Plan['containers'] = [];
  for (const section of ['onboot', 'onshutdown', 'services'] as const) {
    for (const image of config[section] ?? []) idMap.set(image.name, nextId++);
  }
  const sourcesByRef = new Map<string, ImageSource>();
  for (const section of ['onboot', 'onshutdown', 'services'] as const) {
    for (const [index, image] of (config[section] ?? []).entries()) {
      const here = `${where([section, index])}: ${section}[${index}] ${image.name}`;
      const key = referenceExpand(image.image);
      let source = sourcesByRef.get(key);
      if (!source) {
        source = await requireImage(options.resolver, image.image, options.arch, `${where([section, index, 'image'])}: ${section}[${index}] ${image.name}`);
        sourcesByRef.set(key, source);
      }
      containers.push({ section, index, image, source, where: here });
    }
  }
  const files = await planFiles(config.files ?? [], parsed, idMap, options);
  return { parsed, config, kernel, init, containers, files, idMap, mtime: options.sourceDateEpoch ?? DEFAULT_MTIME };
}

function parseId(value: string | number | undefined, idMap: Map<string, number>, where: string): number {
  if (value === undefined || value === '' || value === 'root') return 0;
  if (typeof value === 'number') return value >>> 0;
  const id = idMap.get(value);
  if (id === undefined) throw new UserError(`${where}: cannot find id: ${value} (use a number, root, or a container name)`);
  return id;
}

async function planFiles(files: FileYaml[], parsed: ParsedConfig, idMap: Map<string, number>, options: AssembleOptions): Promise<PlannedFile[]> {
  const planned: PlannedFile[] = [];
  for (const [index, f] of files.entries()) {
    const where = parsed.where(['files', index]);
    const label = `files[${index}]${f.path ? ` (${f.path})` : ''}`;
    if (!f.path) throw new UserError(`${where}: ${label}: did not specify path for file`);
    const path = cleanPath(f.path);
    if (path === '') throw new UserError(`${where}: ${label}: the path names the root directory`);
    let mode = f.directory ? 0o700 : 0o600;
    if (f.mode !== undefined && f.mode !== '') {
      if (!/^[+-]?[0-7]+$/.test(f.mode)) throw new UserError(`${parsed.where(['files', index, 'mode'])}: ${label}: mode ${JSON.stringify(f.mode)} is not an octal number like "0644"`);
      mode = parseInt(f.mode, 8) & 0o7777;
    }
    // Leading directories: x wherever r or w is set.
    let dirMode = mode;
    if (dirMode & 0o700) dirMode |= 0o100;
    if (dirMode & 0o070) dirMode |= 0o010;
    if (dirMode & 0o007) dirMode |= 0o001;
    const uid = parseId(f.uid, idMap, `${where}: ${label} uid`);
    const gid = parseId(f.gid, idMap, `${where}: ${label} gid`);
    const base = { index, path, mode, dirMode, uid, gid };
    if (f.directory) {
      if (f.contents !== undefined) throw new UserError(`${where}: ${label}: directory with contents not allowed`);
      if (f.metadata || f.source) throw new UserError(`${where}: ${label}: a directory cannot have ${f.metadata ? 'metadata' : 'a source'}`);
      planned.push({ ...base, type: 'directory' });
      continue;
    }
    if (f.symlink || f.contents !== undefined) {
      if (f.metadata) throw new UserError(`${where}: ${label}: specified Contents and Metadata for file`);
      if (f.source) throw new UserError(`${where}: ${label}: specified Contents and Source for file`);
      if (f.symlink) planned.push({ ...base, type: 'symlink', linkTarget: f.symlink });
      else planned.push({ ...base, type: 'file', contents: Buffer.from(f.contents!, 'utf8') });
      continue;
    }
    if (!f.source && !f.metadata) throw new UserError(`${where}: ${label}: contents of file not specified (give contents, source, metadata, directory or symlink)`);
    if (f.source && f.metadata) throw new UserError(`${where}: ${label}: specified Source and Metadata for file`);
    if (f.metadata) {
      planned.push({ ...base, type: 'file', contents: metadataDump(parsed.config, f.metadata, `${where}: ${label}`) });
      continue;
    }
    const source = f.source!;
    const expanded = source.length > 2 && source.startsWith('~/') ? join(options.homeDir ?? process.env.HOME ?? homedir(), source.slice(2)) : source;
    const sourcePath = resolvePath(parsed.baseDir, expanded);
    let size: number;
    try {
      const info = await stat(sourcePath);
      if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      size = info.size;
    } catch (error) {
      if (f.optional) {
        log.debug(`${label}: skipping, ${sourcePath} is not readable and the file is optional`);
        continue;
      }
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is not a regular file' : `cannot be read (${code})`;
      throw new UserError(`${parsed.where(['files', index, 'source'])}: ${label}: source ${source} ${why} (${sourcePath}); create it, fix the path, or mark the file optional: true`);
    }
    planned.push({ ...base, type: 'file', sourcePath, size });
  }
  return planned;
}

/** `metadata: json|yaml`: the resolved configuration, as LinuxKit embeds it. */
function metadataDump(config: MobyConfig, kind: string, where: string): Buffer {
  const expandImages = (list?: ImageYaml[]) => list?.map((i) => ({ ...i, image: referenceExpand(i.image) }));
  const resolved = {
    kernel: config.kernel ? { ...config.kernel, ...(config.kernel.image ? { image: referenceExpand(config.kernel.image) } : {}) } : undefined,
    init: (config.init ?? []).map(referenceExpand),
    onboot: expandImages(config.onboot) ?? null,
    onshutdown: expandImages(config.onshutdown) ?? null,
    services: expandImages(config.services) ?? null,
    files: config.files ?? null,
    volumes: config.volumes ?? null,
  };
  if (kind === 'json') return Buffer.from(goMarshalIndent(resolved));
  if (kind === 'yaml') return Buffer.from(yamlStringify(resolved));
  throw new UserError(`${where}: unsupported metadata type: ${kind} (use json or yaml)`);
}

// ---------------------------------------------------------------------------------------------
// Emission

function dirEntry(path: string, mtime: number, mode = 0o755, uid = 0, gid = 0): FsEntry {
  return { path, type: 'directory', mode, uid, gid, mtime };
}

function fileEntry(path: string, data: Buffer, mtime: number, mode = 0o644, uid = 0, gid = 0): FsEntry {
  return { path, type: 'file', mode, uid, gid, mtime, size: data.length, content: () => data };
}

/** Every component of a prefix as a 0755 directory, each time (LinuxKit's tarPrefix). */
function* prefixDirs(prefix: string, mtime: number): Generator<FsEntry> {
  const parts = prefix.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) yield dirEntry(parts.slice(0, i).join('/'), mtime);
}

async function readAll(entry: FsEntry): Promise<Buffer> {
  const content = entry.content?.();
  if (!content) return Buffer.alloc(0);
  if (Buffer.isBuffer(content)) return content;
  const chunks: Buffer[] = [];
  for await (const chunk of content) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * An image's filesystem below `prefix` as LinuxKit's ImageTar writes it: Docker artefacts dropped,
 * etc/hosts and etc/resolv.conf replaced (resolv.conf becomes a symlink for init images), then the
 * "touch" entries appended. Names are cleaned, so the touch directories are always appended again
 * and hosts/resolv.conf twice when the image has them, as on LinuxKit's cache path.
 */
async function* imageEntries(source: ImageSource, prefix: string, forInit: boolean, mtime: number, onApkDb?: (db: Buffer) => void): AsyncGenerator<FsEntry> {
  let foundMtab = false;
  const withPrefix = (path: string) => prefix + path;
  for await (const entry of flattenLayers(source.layers, source.ref)) {
    const name = entry.path;
    if (EXCLUDED.has(name)) continue;
    if (name === 'etc/hosts' || name === 'etc/resolv.conf') {
      if (name === 'etc/resolv.conf' && forInit) {
        yield { path: withPrefix(name), type: 'symlink', mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime, linkTarget: RESOLV_SYMLINK };
      } else {
        const text = Buffer.from(name === 'etc/hosts' ? HOSTS : NO_RESOLV);
        yield { ...fileEntry(withPrefix(name), text, mtime, entry.mode, entry.uid, entry.gid) };
      }
      continue;
    }
    let out: FsEntry = { ...entry, path: withPrefix(name) };
    if (name === 'etc/mtab') {
      foundMtab = true;
      out.mtime = mtime;
    }
    if (out.type === 'hardlink' && out.linkTarget !== undefined) out.linkTarget = withPrefix(out.linkTarget);
    if (onApkDb && name === APK_DB && out.type === 'file') {
      const data = await readAll(entry);
      onApkDb(data);
      out = { ...out, size: data.length, content: () => data };
    }
    yield out;
  }
  // The touch list, in sorted key order.
  yield dirEntry(withPrefix('dev'), mtime);
  yield dirEntry(withPrefix('dev/pts'), mtime);
  yield dirEntry(withPrefix('dev/shm'), mtime);
  yield dirEntry(withPrefix('etc'), mtime);
  yield fileEntry(withPrefix('etc/hosts'), Buffer.from(HOSTS), mtime);
  if (!foundMtab) yield { path: withPrefix('etc/mtab'), type: 'symlink', mode: 0o755, uid: 0, gid: 0, mtime, linkTarget: '/proc/mounts' };
  if (forInit) yield { path: withPrefix('etc/resolv.conf'), type: 'symlink', mode: 0o644, uid: 0, gid: 0, mtime, linkTarget: RESOLV_SYMLINK };
  else yield fileEntry(withPrefix('etc/resolv.conf'), Buffer.from(NO_RESOLV), mtime);
  yield dirEntry(withPrefix('proc'), mtime);
  yield dirEntry(withPrefix('sys'), mtime);
}

/** A file of the kernel input: name and how to read it. */
interface KernelPart {
  name: string;
  mode: number;
  size: number;
  open: () => Readable | Buffer;
}

async function* kernelEntries(plan: Plan, phase: 'boot' | 'modules'): AsyncGenerator<FsEntry> {
  const k = plan.config.kernel ?? {};
  const binary = phase === 'boot' ? k.binary || 'kernel' : '';
  const tarName = phase === 'boot' ? '' : k.tar === undefined ? 'kernel.tar' : k.tar === 'none' ? '' : k.tar;
  const ucode = phase === 'boot' ? k.ucode ?? '' : '';
  const mtime = plan.mtime;
  const kernel = plan.kernel!;
  let parts: AsyncIterable<KernelPart>;
  if (kernel.kind === 'dir') {
    parts = kernelDirParts(kernel.dir, [binary, tarName, ucode].filter(Boolean));
  } else {
    parts = (async function* () {
      for await (const entry of flattenLayers(kernel.source.layers, kernel.source.ref)) {
        if (entry.type === 'file' && [binary, tarName, ucode].includes(entry.path)) {
          yield { name: entry.path, mode: entry.mode, size: entry.size ?? 0, open: entry.content ?? (() => Buffer.alloc(0)) };
        }
      }
    })();
  }
  let foundKernel = false;
  let foundTar = false;
  let bootDone = false;
  const label = kernel.kind === 'dir' ? `kernel directory ${kernel.dir}` : `kernel image ${kernel.source.ref}`;
  for await (const part of parts) {
    if (part.name === binary) {
      if (foundKernel) throw new UserError(`${label}: found more than one possible kernel image`);
      foundKernel = true;
      if (!bootDone) yield dirEntry('boot', mtime);
      bootDone = true;
      yield fileEntry('boot/cmdline', Buffer.from(k.cmdline ?? '', 'utf8'), mtime);
      yield { path: 'boot/kernel', type: 'file', mode: part.mode, uid: 0, gid: 0, mtime, size: part.size, content: part.open };
    } else if (part.name === tarName) {
      foundTar = true;
      const content = part.open();
      const stream = Buffer.isBuffer(content) ? Readable.from([content]) : content;
      for await (const { header, path, stream: data } of readTar(stream, `${label} ${tarName}`)) {
        if (path === '') continue; // the archive's own root ("./")
        const entry = entryFromHeader(header, path, data);
        if (entry) yield entry;
      }
    } else if (part.name === ucode) {
      if (!bootDone) yield dirEntry('boot', mtime);
      bootDone = true;
      yield { path: 'boot/ucode.cpio', type: 'file', mode: part.mode, uid: 0, gid: 0, mtime, size: part.size, content: part.open };
    }
  }
  if (binary && !foundKernel) throw new UserError(`${label}: did not find the kernel file ${binary}; build the kernel first`);
  if (tarName && !foundTar) throw new UserError(`${label}: did not find ${tarName} (kernel modules); build the kernel first, or set kernel.tar: none`);
}

async function* kernelDirParts(dir: string, names: string[]): AsyncGenerator<KernelPart> {
  // In the order a kernel image's layer lists them (sorted), as LinuxKit meets them.
  const sorted = [...new Set(names)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of sorted) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    yield { name, mode: info.mode & 0o7777, size: info.size, open: () => createReadStream(path) };
  }
}

async function* initEntries(plan: Plan): AsyncGenerator<FsEntry> {
  const apkDbs: Buffer[] = [];
  for (const source of plan.init) {
    yield* withOrigin(imageNameOf(source.ref), imageEntries(source, '', true, plan.mtime, (db) => apkDbs.push(db)));
  }
  // Several init images with an apk database: LinuxKit writes their concatenation after them.
  if (apkDbs.length > 1) {
    const merged = Buffer.concat(apkDbs.flatMap((db) => [db, Buffer.from('\n\n')]));
    yield { ...fileEntry(APK_DB, merged, 0), mtime: 0 };
  }
}

/** The entries of `entries`, marked as coming from `origin`. */
async function* withOrigin(origin: string, entries: AsyncIterable<FsEntry>): AsyncGenerator<FsEntry> {
  for await (const entry of entries) yield { ...entry, origin };
}

/** An image's name from its reference: the last path component, without tag or digest. */
function imageNameOf(ref: string): string {
  return ref.replace(/@.*$/, '').replace(/:[^/:]*$/, '').split('/').pop() ?? ref;
}

async function* containerEntries(plan: Plan): AsyncGenerator<FsEntry> {
  const extracted = new Map<string, string>(); // expanded ref -> rootfs path of its first copy
  const mtime = plan.mtime;
  for (const c of plan.containers) yield* withOrigin(c.image.name, (async function* () {
    const prefix = c.section === 'services' ? `containers/services/${c.image.name}` : `containers/${c.section}/${String(c.index).padStart(3, '0')}-${c.image.name}`;
    const oci = buildOciSpec(c.image, c.source.config.config as ImageRunConfig | undefined, plan.idMap, c.where);
    const config = Buffer.from(goMarshalIndent(oci.spec));
    const key = referenceExpand(c.image.image);
    let root = `${prefix}/${oci.readonly ? 'rootfs' : 'lower'}`;
    const first = extracted.get(key);
    if (first === undefined) {
      yield* prefixDirs(root, mtime);
      yield* imageEntries(c.source, `${root}/`, false, mtime);
      extracted.set(key, root);
    } else {
      yield* prefixDirs(prefix, mtime);
      root = first;
    }
    yield fileEntry(`${prefix}/config.json`, config, mtime);
    let rootfsMounts: Array<Record<string, unknown>>;
    if (!oci.readonly) {
      const tmp = `${prefix}/tmp`;
      yield dirEntry(tmp, mtime);
      yield dirEntry(`${prefix}/rootfs`, mtime);
      rootfsMounts = [
        { destination: `/${tmp}`, type: 'tmpfs', source: 'tmpfs' },
        { destination: `/${tmp}`, options: ['remount', 'private'] },
        { destination: `/${prefix}/rootfs`, type: 'overlay', source: 'overlay', options: [`lowerdir=/${root}`, `upperdir=/${tmp}/upper`, `workdir=/${tmp}/work`] },
      ];
    } else {
      if (first !== undefined) yield dirEntry(`${prefix}/rootfs`, mtime);
      rootfsMounts = [{ destination: `/${prefix}/rootfs`, source: `/${root}`, options: ['bind'] }];
    }
    const runtime = { ...oci.runtime, mounts: [...rootfsMounts, ...oci.runtime.mounts] };
    yield fileEntry(`${prefix}/runtime.json`, Buffer.from(goMarshalIndent(runtime)), mtime);
  })());
}

function* fileSectionEntries(plan: Plan): Generator<FsEntry> {
  const added = new Set<string>();
  for (const f of plan.files) {
    const parts = posix.dirname(f.path).split('/').filter((p) => p !== '.' && p !== '');
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (added.has(dir)) continue;
      added.add(dir);
      yield dirEntry(dir, plan.mtime, f.dirMode, f.uid, f.gid);
    }
    added.add(f.path);
    const base = { path: f.path, mode: f.mode, uid: f.uid, gid: f.gid, mtime: plan.mtime };
    if (f.type === 'directory') yield { ...base, type: 'directory' };
    else if (f.type === 'symlink') yield { ...base, type: 'symlink', linkTarget: f.linkTarget };
    else if (f.contents) yield { ...base, type: 'file', size: f.contents.length, content: () => f.contents! };
    else {
      const path = f.sourcePath!;
      // sourcePath lets the initramfs writer read the file again instead of spooling a copy.
      yield { ...base, type: 'file', size: f.size, sourcePath: path, content: () => createReadStream(path) };
    }
  }
}

async function* emit(plan: Plan): AsyncGenerator<FsEntry> {
  const guard = new TreeGuard();
  const sections: Array<[string, () => AsyncIterable<FsEntry> | Iterable<FsEntry>]> = [
    ['kernel', () => (plan.kernel ? kernelEntries(plan, 'boot') : [])],
    ['init', () => initEntries(plan)],
    // LinuxKit unpacks kernel.tar before the init images. Modules go after them here, so that on a
    // merged-/usr root (Debian: lib -> usr/lib) they follow the symlink into usr/lib/modules
    // instead of turning /lib into a directory that hides the symlink.
    ['kernel', () => (plan.kernel ? kernelEntries(plan, 'modules') : [])],
    ['containers', () => containerEntries(plan)],
    ['files', () => fileSectionEntries(plan)],
  ];
  for (const [name, entries] of sections) {
    for await (const entry of entries()) {
      // The origin groups entries into the initramfs's segments (and the size report's rows).
      const admitted = guard.admit(entry.origin ? entry : { ...entry, origin: name }, name);
      if (admitted) yield admitted;
    }
  }
  guard.finish();
}

/** `path` relative to the working directory when it lies inside it, else as given. */
function shownPath(path: string): string {
  const shown = relativePath(process.cwd(), resolvePath(path));
  return shown && !shown.startsWith('..') && !isAbsolutePath(shown) ? shown : path;
}
