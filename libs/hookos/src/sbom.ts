/**
 * The HookOS SBOM (dist/hook/sbom-<OUTPUT_ID>.cdx.json, also in the release tarball): the
 * flavor, the sha256 of its vmlinuz and initramfs, its kernel with the modules the initramfs
 * carries, and the images the LinuxKit YAML runs, by digest (@hook/sbom makes the document).
 */
import { join } from 'node:path';
import type { FsEntry, InitramfsResult } from '@hook/initramfs';
import { imageVariableName } from '@hook/inventory';
import { KERNEL_FILES, hookVersion, imageNames, requireImageJson, type Arch, type DockerArch, type ImageMetadata, type KernelMetadata } from '@hook/layout';
import { sha256OfFile } from '@hook/oci';
import { hookosBom, isModulePath, readKernelBom, writeBom } from '@hook/sbom';
import { setting } from '@hook/settings';

/** Passes the entries on and notes the paths of kernel modules among them. */
export async function* noteModules(entries: AsyncIterable<FsEntry>, modules: Set<string>): AsyncGenerator<FsEntry> {
  for await (const entry of entries) {
    if (entry.type === 'file' && isModulePath(entry.path)) modules.add(entry.path);
    yield entry;
  }
}

export interface HookosSbomInput {
  /** Where to write the document (the staging path). */
  path: string;
  workspaceRoot: string;
  flavorId: string;
  outputId: string;
  arch: Arch;
  dockerArch: DockerArch;
  env: NodeJS.ProcessEnv;
  kernel: KernelMetadata;
  /** dist/kernels/<id> (its own SBOM gives the modules' hashes). */
  kernelDir: string;
  /** The template's variables: HOOK_CONTAINER_<NAME>_IMAGE -> reference. */
  templateVars: Record<string, string>;
  /** The LinuxKit config as assembled: only images it runs are listed. */
  config: unknown;
  modules: Set<string>;
  vmlinuz: { name: string; path: string };
  initramfs: { name: string; result: InitramfsResult };
}

export async function writeHookosSbom(input: HookosSbomInput): Promise<void> {
  const assembled = JSON.stringify(input.config);
  const images: ImageMetadata[] = [];
  for (const name of imageNames(input.workspaceRoot)) {
    const ref = input.templateVars[imageVariableName(name)];
    if (ref && assembled.includes(JSON.stringify(ref))) images.push(await requireImageJson(input.workspaceRoot, name, input.dockerArch));
  }
  const vmlinuz = await sha256OfFile(input.vmlinuz.path);
  const bom = hookosBom({
    flavorId: input.flavorId,
    outputId: input.outputId,
    version: hookVersion(input.env),
    arch: input.arch,
    kernel: input.kernel,
    modules: [...input.modules],
    kernelBomJson: await readKernelBom(join(input.kernelDir, KERNEL_FILES.sbom)),
    images,
    files: [
      { name: input.vmlinuz.name, ...vmlinuz },
      { name: input.initramfs.name, sha256: input.initramfs.result.sha256, size: input.initramfs.result.compressedSize },
    ],
    properties: {
      'hookos:initramfs-compression': input.initramfs.result.compression,
      'hookos:initramfs-level': input.initramfs.result.level,
      'hookos:debug-ssh': setting(input.env, 'HOOK_DEBUG_SSH') ? 'yes (a debug build with sshd)' : undefined,
    },
  });
  await writeBom(input.path, bom);
}
