/**
 * The document of one HookOS build (dist/hook/sbom-<OUTPUT_ID>.cdx.json, also in the release
 * tarball): the flavor, its kernel with the modules the initramfs carries, and its container
 * images by manifest digest, plus the sha256 of the vmlinuz and initramfs it describes.
 */
import { readFile } from 'node:fs/promises';
import type { ImageMetadata, KernelMetadata } from '@hook/layout';
import { Enums, Models, hookProperties, newBom, sha256Hashes } from './document';
import { imageComponent } from './image-sbom';
import { kernelComponent, moduleComponent, type ModuleHardware } from './kernel-sbom';

export interface HookosFile {
  /** The file name as dist/hook and the release tarball name it, e.g. `vmlinuz-x86_64`. */
  name: string;
  sha256: string;
  size: number;
}

export interface HookosBomInput {
  flavorId: string;
  outputId: string;
  /** HOOK_VERSION. */
  version: string;
  arch: string;
  kernel: KernelMetadata;
  /** Modules as the initramfs holds them (paths without leading '/'). */
  modules: string[];
  /** The kernel's own document, for the modules' hashes (absent for kernels built before SBOMs). */
  kernelBomJson?: string;
  images: ImageMetadata[];
  files: HookosFile[];
  properties?: Record<string, string | number | undefined>;
}

const MODULE_PATH = /(?:^|\/)lib\/modules\/(.+\.ko(?:\.(?:xz|zst|gz))?)$/;

/** Whether an initramfs path is a kernel module. */
export function isModulePath(path: string): boolean {
  return MODULE_PATH.test(path);
}

type ComponentJson = { name?: string; hashes?: Array<{ alg: string; content: string }>; properties?: Array<{ name: string; value: string }> };
type KernelBomJson = { metadata?: { component?: ComponentJson }; components?: ComponentJson[] };

/** `lib/modules/<release>/...` suffix -> hash and size, from a kernel document. */
function moduleHashes(doc: KernelBomJson | undefined): Map<string, { sha256?: string; size?: number; hardware?: ModuleHardware }> {
  const byPath = new Map<string, { sha256?: string; size?: number; hardware?: ModuleHardware }>();
  if (!doc) return byPath;
  for (const c of doc.components ?? []) {
    const key = c.name ? MODULE_PATH.exec(c.name)?.[1] : undefined;
    if (!key) continue;
    const property = (name: string) => c.properties?.find((p) => p.name === `hook:${name}`)?.value;
    const size = property('file:size');
    const [cls, ids] = [property('hardware:class'), property('hardware:ids')];
    byPath.set(key, { sha256: c.hashes?.find((h) => h.alg === 'SHA-256')?.content, size: size ? Number(size) : undefined, hardware: cls && ids ? { class: cls, ids: ids.split(', ') } : undefined });
  }
  return byPath;
}

export function hookosBom(input: HookosBomInput): Models.Bom {
  const subject = new Models.Component(Enums.ComponentType.OperatingSystem, input.flavorId, {
    bomRef: `hookos:${input.flavorId}`,
    version: input.version,
    properties: hookProperties({ 'hookos:output-id': input.outputId, 'hookos:arch': input.arch, ...input.properties }),
  });
  const bom = newBom(subject);
  for (const file of input.files) {
    bom.components.add(new Models.Component(Enums.ComponentType.File, file.name, { bomRef: `file:${file.name}`, hashes: sha256Hashes(file.sha256), properties: hookProperties({ 'file:size': file.size }) }));
  }
  const kernelDoc = input.kernelBomJson ? (JSON.parse(input.kernelBomJson) as KernelBomJson) : undefined;
  // The configuration hash is the kernel document's (kernel.json does not carry it).
  const configSha256 = kernelDoc?.metadata?.component?.properties?.find((p) => p.name === 'hook:kernel:config-sha256')?.value;
  const kernel = kernelComponent(input.kernel, configSha256);
  const hashes = moduleHashes(kernelDoc);
  for (const path of [...new Set(input.modules)].sort()) {
    const known = hashes.get(MODULE_PATH.exec(path)?.[1] ?? '');
    kernel.components.add(moduleComponent(path, known?.sha256, known?.size, known?.hardware));
  }
  bom.components.add(kernel);
  subject.dependencies.add(kernel.bomRef);
  for (const image of [...input.images].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const component = imageComponent(image, `image:${image.name}`);
    bom.components.add(component);
    subject.dependencies.add(component.bomRef);
  }
  return bom;
}

/** The kernel's document beside its files, if it has one. */
export async function readKernelBom(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}
