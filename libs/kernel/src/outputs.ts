/** The files of dist/kernels/<id>/ and their metadata (kernel.json), written atomically. */
import { copyFile, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@hook/process';
import { KERNEL_FILES, writeKernelJson, type FileDigest, type KernelMetadata } from '@hook/layout';
import { idsByModule, type HardwareIndex } from '@hook/hardware';
import { kernelBom, listKernelModules, writeBom, type ModuleHardware } from '@hook/sbom';
import { packTree } from './archive';
import { publishDir, sha256File } from './files';
import { kernelDistDir } from './paths';

export interface KernelPayload {
  /** bzImage or Image. */
  image: string;
  /** A directory holding lib/modules/<release>/... (becomes kernel.tar). */
  modulesRoot: string;
  systemMap?: string;
  /** A directory of dtbs (becomes dtbs.tar.gz); none gives an empty archive. */
  dtbsDir?: string;
  /** Extra files to copy as they are (e.g. modules-report.md). */
  extras?: Record<string, string>;
  /** The full kernel configuration (.config, or a package's boot/config-*): its sha256 goes into the SBOM. */
  config?: string;
  /** Debian packages of the firmware under modulesRoot/lib/firmware (into the SBOM). */
  firmwarePackages?: Record<string, string>;
}

/** Writes kernel, kernel.tar, System.map, dtbs.tar.gz, extras, kernel.json and the SBOM, all or nothing. */
export async function writeKernelOutputs(
  workspaceRoot: string,
  payload: KernelPayload,
  metadata: Omit<KernelMetadata, 'files'>,
  mtime: number,
): Promise<KernelMetadata> {
  return publishDir(kernelDistDir(workspaceRoot, metadata.id), async (dir) => {
    await copyFile(payload.image, join(dir, KERNEL_FILES.image));
    await packTree(payload.modulesRoot, join(dir, KERNEL_FILES.modules), { mtime });
    if (payload.systemMap) await copyFile(payload.systemMap, join(dir, KERNEL_FILES.systemMap));
    let dtbs = payload.dtbsDir;
    let emptyDtbs: string | undefined;
    if (!dtbs) {
      emptyDtbs = await makeTempDir('empty-dtbs');
      dtbs = emptyDtbs;
    }
    try {
      await packTree(dtbs, join(dir, KERNEL_FILES.dtbs), { gzip: true, mtime });
    } finally {
      if (emptyDtbs) await rm(emptyDtbs, { recursive: true, force: true });
    }
    for (const [name, path] of Object.entries(payload.extras ?? {})) await copyFile(path, join(dir, name));
    const files: Record<string, FileDigest> = {};
    for (const name of [KERNEL_FILES.image, KERNEL_FILES.modules, KERNEL_FILES.systemMap, KERNEL_FILES.dtbs, ...Object.keys(payload.extras ?? {})]) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info) files[name] = { sha256: await sha256File(path), size: info.size };
    }
    const full: KernelMetadata = { ...metadata, files };
    await writeKernelJson(dir, full);
    const configSha256 = payload.config ? await sha256File(payload.config) : undefined;
    const moduleHardware = payload.extras?.[KERNEL_FILES.hardware] ? hardwareOfModules(JSON.parse(await readFile(payload.extras[KERNEL_FILES.hardware], 'utf8'))) : undefined;
    await writeBom(join(dir, KERNEL_FILES.sbom), kernelBom({ metadata: full, configSha256, modules: await listKernelModules(payload.modulesRoot), firmwarePackages: payload.firmwarePackages, moduleHardware }));
    return full;
  });
}


/** The kept modules that claim bus IDs, for their SBOM components. */
function hardwareOfModules(index: HardwareIndex): Record<string, ModuleHardware> {
  const out: Record<string, ModuleHardware> = {};
  for (const [name, ids] of idsByModule(index)) {
    const module = index.modules[name];
    if (module?.kept) out[module.path] = { class: module.class, ids };
  }
  return out;
}
