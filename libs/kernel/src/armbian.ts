/** METHOD armbian: a kernel from Armbian's OCI artifacts (a tar of .deb files), trimmed as upstream. */
import { createReadStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { armbianOciBase, type KernelMetadata } from '@hook/layout';
import { UserError, log } from '@hook/log';
import type { KernelDefinition } from '@hook/inventory';
import { exists, tempDirBeside, unpackTar } from '@hook/debian';
import { publishDir } from './files';
import { unpackKernelPackage, versionOfRelease } from './kernel-package';
import { addKernelFirmware } from './firmware';
import { ARMBIAN_POLICY, trimModules, writeReport } from './modules';
import { debianSourceSuite } from './source';
import { writeKernelOutputs } from './outputs';
import { kernelCacheDir, kernelOciBase, sourceDateEpoch } from './paths';
import { artifactRegistry, sha256Hex, type ArtifactRegistry } from '@hook/oci';
import { setting } from '@hook/settings';

/** Armbian kernel artifact tags look like `6.12.58-S2c1a-D1b2c-P0000-...`. */
const ARMBIAN_TAG = /^\d+\.\d+\.\d+-S[0-9a-f]+/;

function compareVersionTags(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < 3; i++) {
    const diff = Number(pa[i]) - Number(pb[i]);
    if (diff) return diff;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export function latestArmbianTag(tags: string[]): string | undefined {
  return tags.filter((t) => ARMBIAN_TAG.test(t)).sort(compareVersionTags).pop();
}


export function armbianRepository(kernel: KernelDefinition, env: NodeJS.ProcessEnv): string {
  return `${armbianOciBase(env)}/${kernel.ARMBIAN_KERNEL_ARTIFACT}`;
}

/** Where a pulled artifact is cached: tags of Armbian artifacts are immutable. */
export function armbianArtifactDir(workspaceRoot: string, env: NodeJS.ProcessEnv, kernel: KernelDefinition, tag: string): string {
  return kernelCacheDir(workspaceRoot, env, 'armbian', kernel.ARMBIAN_KERNEL_ARTIFACT as string, tag);
}

/** Resolves the artifact's tag (newest, or ARMBIAN_KERNEL_VERSION) and pulls it into the cache once. */
export async function fetchArmbianArtifact(options: {
  workspaceRoot: string;
  kernel: KernelDefinition;
  env: NodeJS.ProcessEnv;
  registry?: ArtifactRegistry;
}): Promise<{ artifactDir: string; reference: string; repository: string; tag: string }> {
  const { workspaceRoot, kernel, env } = options;
  const registry = options.registry ?? artifactRegistry(env);
  const repository = armbianRepository(kernel, env);
  const tags = await registry.listTags(repository);
  const pinned = setting(env, 'ARMBIAN_KERNEL_VERSION');
  const tag = pinned || latestArmbianTag(tags);
  if (!tag) throw new UserError(`${repository} has no Armbian kernel tag (like 6.12.1-Sabcd); check ARMBIAN_BASE_ORAS_REF and ARMBIAN_KERNEL_ARTIFACT`);
  if (pinned && !tags.includes(pinned)) {
    const recent = tags.filter((t) => ARMBIAN_TAG.test(t)).sort(compareVersionTags).slice(-3);
    throw new UserError(`${repository} has no tag ARMBIAN_KERNEL_VERSION=${pinned}; recent tags: ${recent.join(', ') || 'none'}`);
  }
  const reference = `${repository}:${tag}`;
  log.info(`kernel ${kernel.id}: Armbian ${reference}`);
  const artifactDir = armbianArtifactDir(workspaceRoot, env, kernel, tag);
  if (!(await exists(artifactDir))) {
    await publishDir(artifactDir, async (dir) => {
      await registry.pullArtifact(reference, dir);
    });
  }
  return { artifactDir, reference, repository, tag };
}

export async function buildFromArmbian(options: {
  workspaceRoot: string;
  kernel: KernelDefinition;
  env: NodeJS.ProcessEnv;
  registry?: ArtifactRegistry;
}): Promise<KernelMetadata> {
  const { workspaceRoot, kernel, env } = options;
  const { artifactDir, reference, repository, tag } = await fetchArmbianArtifact(options);
  const work = await tempDirBeside(kernelCacheDir(workspaceRoot, env, 'stage', kernel.id));
  try {
    const deb = await findImageDeb(artifactDir, work, reference);
    const unpacked = await unpackKernelPackage(deb, work);
    const report = await trimModules(unpacked.modulesRoot, unpacked.release, ARMBIAN_POLICY);
    const reportPath = join(work, 'modules-report.md');
    await writeReport(reportPath, report);
    // Armbian's artifacts carry no firmware: Debian's, for the kept controllers' modules.
    const firmware = await addKernelFirmware({ workspaceRoot, env, arch: kernel.ARCH, rootDir: unpacked.modulesRoot, release: unpacked.release, config: unpacked.config, suite: debianSourceSuite(env), workDir: work, trim: report });
    const version = versionOfRelease(unpacked.release);
    const outTag = `${version}-${sha256Hex(reference, JSON.stringify(ARMBIAN_POLICY), JSON.stringify(firmware.plan.packages)).slice(0, 8)}-${kernel.id.replace(/^armbian-/, '')}`;
    const metadata = await writeKernelOutputs(
      workspaceRoot,
      { image: unpacked.image, modulesRoot: unpacked.modulesRoot, systemMap: unpacked.systemMap, dtbsDir: unpacked.dtbsDir, extras: { 'modules-report.md': reportPath, ...firmware.extras }, config: unpacked.config, firmwarePackages: firmware.plan.packages },
      {
        id: kernel.id,
        method: 'armbian',
        arch: kernel.ARCH,
        release: unpacked.release,
        version,
        tag: outTag,
        image: `${kernelOciBase(env)}-armbian:${outTag}`,
        source: { provider: 'armbian', name: repository, version: tag },
      },
      sourceDateEpoch(env) ?? 0,
    );
    log.notice(`kernel ${kernel.id}: ${unpacked.release} written to dist/kernels/${kernel.id}`);
    return metadata;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The linux-image-*.deb of a pulled artifact: directly, or inside its tar of .debs. */
export async function findImageDeb(artifactDir: string, work: string, reference: string): Promise<string> {
  const isImageDeb = (name: string) => /^linux-image-.*\.deb$/.test(basename(name));
  for (const name of await readdir(artifactDir)) {
    const path = join(artifactDir, name);
    if (isImageDeb(name)) return path;
    if (/\.tar$/.test(name)) {
      const debs = join(work, 'debs');
      const written = await unpackTar(createReadStream(path), debs, (member, header) => header.type === 'directory' || isImageDeb(member));
      const found = written.find((p) => isImageDeb(p));
      if (found) return join(debs, found);
    }
  }
  throw new UserError(`${reference} contains no linux-image-*.deb; is it an Armbian kernel artifact?`);
}
