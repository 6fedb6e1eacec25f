/**
 * The document of one kernel (dist/kernels/<id>/sbom.cdx.json): the kernel by version, where
 * its source or package came from (provider), the sha256 of the full kernel configuration it
 * was built with, and its files: the dist/ files and every module with its sha256.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PackageURL } from 'packageurl-js';
import { dockerArchOf, type KernelMetadata } from '@hook/layout';
import { Enums, Models, hookProperties, newBom, sha256Hashes } from './document';

export interface KernelModuleFile {
  /** As the kernel's modules tree holds it: `lib/modules/<release>/kernel/...ko[.xz]`. */
  path: string;
  sha256: string;
  size: number;
}

export interface KernelBomInput {
  metadata: KernelMetadata;
  /** sha256 of the full .config the kernel was built with (or the package's boot/config-*). */
  configSha256?: string;
  modules: KernelModuleFile[];
  /** Debian packages the firmware in kernel.tar (lib/firmware/) comes from: name -> version. */
  firmwarePackages?: Record<string, string>;
  /** From the hardware index: module path under lib/modules/<release>/ -> its class and the bus IDs it claims. */
  moduleHardware?: Record<string, ModuleHardware>;
}

/** What a module drives (@hook/hardware), as properties of its component: CycloneDX has no field for bus IDs. */
export interface ModuleHardware {
  class: string;
  ids: string[];
}

/** `lib/modules/<release>/kernel/...` -> `kernel/...`, the hardware index's key. */
export function modulePathInRelease(path: string): string {
  return path.replace(/^(?:.*\/)?lib\/modules\/[^/]+\//, '');
}

const MODULE_FILE = /\.ko(\.(xz|zst|gz))?$/;

/** The module files under `modulesRoot` (a directory holding lib/modules/<release>), sorted. */
export async function listKernelModules(modulesRoot: string): Promise<KernelModuleFile[]> {
  const entries = await readdir(modulesRoot, { recursive: true, withFileTypes: true });
  const modules: KernelModuleFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || !MODULE_FILE.test(entry.name)) continue;
    const full = join(entry.parentPath, entry.name);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(full) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
    modules.push({ path: full.slice(modulesRoot.length).replace(/^\/+/, ''), sha256: hash.digest('hex'), size });
  }
  return modules.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The package URL of what the kernel was made from. */
export function kernelPurl(metadata: KernelMetadata): string {
  const source = metadata.source ?? { provider: 'unknown', version: metadata.version };
  if (source.provider === 'debian-package' && source.name) {
    return new PackageURL('deb', 'debian', source.name, source.version, { arch: dockerArchOf(metadata.arch) }, undefined).toString();
  }
  if (source.provider === 'debian' && source.name) {
    return new PackageURL('deb', 'debian', source.name, source.version, { arch: 'all' }, undefined).toString();
  }
  if (source.provider === 'armbian' && source.name) {
    return new PackageURL('oci', undefined, source.name.replace(/^.*\//, ''), undefined, { repository_url: source.name, tag: source.version }, undefined).toString();
  }
  return new PackageURL('generic', undefined, 'linux', metadata.version, undefined, undefined).toString();
}

/** The kernel as a component (also used in a HookOS document). */
export function kernelComponent(metadata: KernelMetadata, configSha256?: string): Models.Component {
  const image = metadata.files?.kernel;
  return new Models.Component(Enums.ComponentType.OperatingSystem, 'linux', {
    bomRef: `kernel:${metadata.id ?? 'linux'}`,
    version: metadata.version,
    purl: kernelPurl(metadata),
    hashes: image ? sha256Hashes(image.sha256) : undefined,
    properties: hookProperties({
      'kernel:id': metadata.id,
      'kernel:release': metadata.release,
      'kernel:method': metadata.method,
      'kernel:arch': metadata.arch,
      'kernel:provider': metadata.source?.provider,
      'kernel:source-version': metadata.source?.version,
      'kernel:source-name': metadata.source?.name,
      'kernel:defconfig': metadata.defconfig,
      'kernel:config-sha256': configSha256,
      'kernel:builder': metadata.builder,
      'kernel:image': metadata.image,
    }),
  });
}

export function moduleComponent(path: string, sha256?: string, size?: number, hardware?: ModuleHardware): Models.Component {
  return new Models.Component(Enums.ComponentType.File, path, {
    bomRef: `module:${path}`,
    hashes: sha256 ? sha256Hashes(sha256) : undefined,
    properties: hookProperties({ 'file:size': size, 'hardware:class': hardware?.class, 'hardware:ids': hardware?.ids.join(', ') }),
  });
}

export function kernelBom(input: KernelBomInput): Models.Bom {
  const { metadata } = input;
  const subject = kernelComponent(metadata, input.configSha256);
  const bom = newBom(subject);
  for (const [name, file] of Object.entries(metadata.files ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    bom.components.add(new Models.Component(Enums.ComponentType.File, name, { bomRef: `file:${name}`, hashes: sha256Hashes(file.sha256), properties: hookProperties({ 'file:size': file.size }) }));
  }
  for (const module of input.modules) bom.components.add(moduleComponent(module.path, module.sha256, module.size, input.moduleHardware?.[modulePathInRelease(module.path)]));
  for (const [name, version] of Object.entries(input.firmwarePackages ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const purl = new PackageURL('deb', 'debian', name, version, { arch: 'all' }, undefined).toString();
    bom.components.add(new Models.Component(Enums.ComponentType.Library, name, { version, purl, bomRef: purl, properties: hookProperties({ 'kernel:firmware': 'lib/firmware' }) }));
  }
  return bom;
}
