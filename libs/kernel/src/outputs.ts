/** The files of dist/kernels/<id>/ and their metadata (kernel.json), written atomically. */
import { copyFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Arch, KernelMethod } from '@hook/inventory';
import { packTree } from './archive';
import { publishDir, sha256File } from './files';
import { kernelDistDir } from './paths';

export interface FileDigest {
  sha256: string;
  size: number;
}

export interface KernelMetadata {
  id: string;
  method: KernelMethod;
  arch: Arch;
  /** `uname -r` of the kernel. */
  release: string;
  /** MAJOR.MINOR.POINT */
  version: string;
  /** The OCI tag, e.g. `6.12.117-0123abcd`. */
  tag: string;
  /** The full image reference the kernel is published as. */
  image: string;
  source: {
    /** kernel.org, mirror, tarball, debian (source package), debian-package, armbian */
    provider: string;
    /** The exact version of what was used: `6.12.117`, Debian's `6.12.117-1`, an Armbian tag. */
    version: string;
    /** Package or artifact name when there is one. */
    name?: string;
  };
  defconfig?: string;
  /** Where a source kernel was compiled: on the host or in the kernel builder container. */
  builder?: 'host' | 'container';
  files: Record<string, FileDigest>;
}

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
}

/** Writes kernel, kernel.tar, System.map, dtbs.tar.gz, extras and kernel.json, all or nothing. */
export async function writeKernelOutputs(
  workspaceRoot: string,
  payload: KernelPayload,
  metadata: Omit<KernelMetadata, 'files'>,
  mtime: number,
): Promise<KernelMetadata> {
  return publishDir(kernelDistDir(workspaceRoot, metadata.id), async (dir) => {
    await copyFile(payload.image, join(dir, 'kernel'));
    await packTree(payload.modulesRoot, join(dir, 'kernel.tar'), { mtime });
    if (payload.systemMap) await copyFile(payload.systemMap, join(dir, 'System.map'));
    let dtbs = payload.dtbsDir;
    let emptyDtbs: string | undefined;
    if (!dtbs) {
      emptyDtbs = await mkdtemp(join(tmpdir(), 'hook-empty-dtbs-'));
      dtbs = emptyDtbs;
    }
    try {
      await packTree(dtbs, join(dir, 'dtbs.tar.gz'), { gzip: true, mtime });
    } finally {
      if (emptyDtbs) await rm(emptyDtbs, { recursive: true, force: true });
    }
    for (const [name, path] of Object.entries(payload.extras ?? {})) await copyFile(path, join(dir, name));
    const files: Record<string, FileDigest> = {};
    for (const name of ['kernel', 'kernel.tar', 'System.map', 'dtbs.tar.gz', ...Object.keys(payload.extras ?? {})]) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info) files[name] = { sha256: await sha256File(path), size: info.size };
    }
    const full: KernelMetadata = { ...metadata, files };
    await writeFile(join(dir, 'kernel.json'), `${JSON.stringify(full, null, 2)}\n`);
    return full;
  });
}

