/**
 * Publishing a built kernel as upstream does: an OCI image whose one layer holds `kernel`,
 * `kernel.tar`, `System.map` and `dtbs.tar.gz` at `/`, with the architecture set.
 * DO_PUSH=yes pushes it to its image reference (skipped when the tag is already there, unless
 * FORCE_BUILD_KERNEL=yes); EXPORT_KERNEL_IMAGE=yes writes it as an OCI layout into
 * EXPORT_KERNEL_IMAGE_DIR (default dist/kernel-images).
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { makeTempDir } from '@hook/process';
import { createGzip } from 'node:zlib';
import { log } from '@hook/log';
import { MediaType, OciLayout, RegistryClient, parseNormalizedNamed, pushLayoutImage, type ImageManifest } from '@hook/oci';
import { packTree } from './archive';
import { exists } from '@hook/debian';
import { publishDir, sha256File } from './files';
import { kernelDistDir, sourceDateEpoch } from './paths';
import { dockerArchOf, type KernelMetadata } from '@hook/layout';
import { setting } from '@hook/settings';

const IMAGE_FILES = ['kernel', 'kernel.tar', 'System.map', 'dtbs.tar.gz'];

/** Writes the kernel image into an OCI layout at `layoutDir`, listed under its tag. */
export async function writeKernelImageLayout(workspaceRoot: string, metadata: KernelMetadata, layoutDir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const dist = kernelDistDir(workspaceRoot, metadata.id);
  const work = await makeTempDir('kernel-image');
  try {
    const root = join(work, 'root');
    await mkdir(root);
    for (const name of IMAGE_FILES) if (await exists(join(dist, name))) await copyFile(join(dist, name), join(root, name));
    const mtime = sourceDateEpoch(env) ?? 0;
    const tar = join(work, 'layer.tar');
    await packTree(root, tar, { mtime });
    const diffId = `sha256:${await sha256File(tar)}`;
    const layout = await OciLayout.create(layoutDir);
    const layer = await layout.writeBlob(createReadStream(tar).pipe(createGzip({ level: 9 })), MediaType.ociLayerGzip);
    const created = new Date(mtime * 1000).toISOString();
    const config = await layout.writeJsonBlob(
      {
        created,
        architecture: dockerArchOf(metadata.arch),
        os: 'linux',
        config: { Labels: { 'org.opencontainers.image.version': metadata.tag, 'io.hook.kernel.release': metadata.release } },
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created, created_by: `hook kernel ${metadata.id} (${metadata.source.provider} ${metadata.source.version})` }],
      },
      MediaType.ociConfig,
    );
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] };
    const descriptor = await layout.writeJsonBlob(manifest, MediaType.ociManifest);
    await layout.addManifest(descriptor, metadata.tag);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function publishKernel(workspaceRoot: string, metadata: KernelMetadata, env: NodeJS.ProcessEnv, client = new RegistryClient({ env })): Promise<void> {
  if (setting(env, 'EXPORT_KERNEL_IMAGE')) {
    const dir = resolve(workspaceRoot, setting(env, 'EXPORT_KERNEL_IMAGE_DIR'), `${metadata.id}-${metadata.tag}`);
    await publishDir(dir, (temp) => writeKernelImageLayout(workspaceRoot, metadata, temp, env));
    log.info(`kernel image ${metadata.image} exported as an OCI layout to ${dir}`);
  }
  if (!setting(env, 'DO_PUSH')) return;
  const reference = parseNormalizedNamed(metadata.image);
  if (!setting(env, 'FORCE_BUILD_KERNEL') && (await client.headManifest(reference))) {
    log.info(`${metadata.image} is already published; not pushing (FORCE_BUILD_KERNEL=yes pushes again)`);
    return;
  }
  const work = await makeTempDir('kernel-push');
  try {
    await writeKernelImageLayout(workspaceRoot, metadata, join(work, 'layout'), env);
    await pushLayoutImage(await OciLayout.open(join(work, 'layout')), metadata.tag, metadata.image, { client });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
