/**
 * The `linuxkit` backend of the flavor build (backend.ts: choosing it, the binary and its
 * version; this file: the build itself): the real `linuxkit build` (LINUXKIT_BIN, v1.8.2)
 * assembles the root filesystem instead of the native assembler, fully offline:
 * 1. every image the rendered YAML names is copied from dist/ (same resolver chain as the native
 *    build) into a LinuxKit cache: an OCI layout with gzip layers (linuxkit rejects uncompressed
 *    cache layers) listed under the fully expanded ref, which is how linuxkit looks images up;
 * 2. the kernel image the YAML names is made from dist/kernels/<id>/{kernel,kernel.tar};
 * 3. `linuxkit build --format kernel+initrd --no-sbom --cache ... --dir ...` runs without
 *    --docker or --pull, so it never asks the Docker engine or a registry;
 * 4. its gzip cpio initrd is read back as entries (what upstream Hook did with cpio -idmu), for
 *    writeInitramfs to de-duplicate and recompress like a native build. The entries go through
 *    the same TreeGuard as native ones, so the tree is what the kernel (and cpio -idmu) unpacks
 *    from linuxkit's initrd: e.g. a merged-/usr init image's `lib -> usr/lib` symlink cannot
 *    replace the `lib/modules` directory that linuxkit wrote first from kernel.tar; the directory
 *    stays (with a warning). The native assembler avoids that by writing modules after the init
 *    images (assemble.ts), so on such images the two backends differ there.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { log } from '@hook/log';
import { MediaType, OciLayout, decompressStream, type Descriptor, type ImageConfig } from '@hook/oci';
import { readNewcArchive, type FsEntry } from '@hook/initramfs';
import { renderTemplate } from '@hook/inventory';
import { linuxkitBuild } from './backend';
import { referenceExpand, validateConfig, type MobyConfig } from './config';
import { requireImage, type ImageResolver } from './resolver';
import { TreeGuard } from './tree-guard';

export interface LinuxkitBackendOptions {
  templatePath: string;
  /** The template's text and its name for messages (relative to the workspace). */
  templateText: string;
  templateFile: string;
  templateVars: Record<string, string>;
  arch: string;
  resolver: ImageResolver;
  kernelDir: string;
  /** A scratch directory (the build's staging dir): the rendered YAML, the cache, linuxkit's output. */
  workDir: string;
  env: NodeJS.ProcessEnv;
}

export interface LinuxkitOutput {
  /** linuxkit's kernel (hook-kernel). */
  kernelPath: string;
  /** linuxkit's initrd (hook-initrd.img, gzip cpio). */
  initrdPath: string;
}

/** Renders the template, fills a LinuxKit cache from dist/, and runs `linuxkit build`. */
export async function buildWithLinuxkit(options: LinuxkitBackendOptions): Promise<LinuxkitOutput> {
  const { workDir, arch } = options;
  const yamlPath = join(workDir, 'hook.yaml');
  const rendered = renderTemplate(options.templateText, options.templateVars, options.templateFile);
  // Validated here too, so a YAML mistake reads the same as with the native backend.
  const { config } = validateConfig(rendered, options.templateFile, dirname(options.templatePath));
  await mkdir(workDir, { recursive: true });
  await writeFile(yamlPath, rendered);

  const cacheDir = join(workDir, 'linuxkit-cache');
  const cache = await OciLayout.create(cacheDir);
  for (const ref of imageRefsOf(config)) {
    const source = await requireImage(options.resolver, ref, arch, `${options.templateFile}: ${ref}`);
    log.info(`linuxkit cache: ${referenceExpand(ref)} (from ${source.origin})`);
    await addCachedImage(cache, referenceExpand(ref), source.config, source.layers.map((open) => open()), arch);
  }
  if (config.kernel?.image) {
    const layer = kernelLayer(options.kernelDir, kernelFileNames(config.kernel));
    await addCachedImage(cache, referenceExpand(config.kernel.image), { architecture: arch, os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } }, [layer], arch);
  }

  const outDir = join(workDir, 'linuxkit-out');
  await linuxkitBuild({
    yamlPath,
    arch,
    outDir,
    format: 'kernel+initrd',
    cacheDir,
    extraArgs: ['--no-sbom'],
    env: options.env,
    // linuxkit reads relative files[].source from its working directory; the native assembler
    // reads them from the template's directory: run it there so both read the same files.
    cwd: dirname(options.templatePath),
  });
  return { kernelPath: join(outDir, 'hook-kernel'), initrdPath: join(outDir, 'hook-initrd.img') };
}

/** The initrd linuxkit wrote (gzip cpio newc) as entries, in archive order, as the kernel would unpack them. */
export async function* linuxkitInitrdEntries(initrdPath: string): AsyncGenerator<FsEntry> {
  const guard = new TreeGuard();
  for await (const entry of readNewcArchive(decompressStream(createReadStream(initrdPath), initrdPath))) {
    const admitted = guard.admit(entry, 'linuxkit initrd');
    if (admitted) yield admitted;
  }
  guard.finish();
}

/** Every image ref the YAML names (init, onboot, onshutdown, services), each once. */
export function imageRefsOf(config: MobyConfig): string[] {
  const refs = [...(config.init ?? []), ...[...(config.onboot ?? []), ...(config.onshutdown ?? []), ...(config.services ?? [])].map((i) => i.image)];
  const byExpanded = new Map<string, string>();
  for (const ref of refs) if (!byExpanded.has(referenceExpand(ref))) byExpanded.set(referenceExpand(ref), ref);
  return [...byExpanded.values()];
}

/** The files linuxkit takes from a kernel image: the binary, the modules tar, the microcode. */
export function kernelFileNames(kernel: NonNullable<MobyConfig['kernel']>): string[] {
  const tar = kernel.tar === undefined ? 'kernel.tar' : kernel.tar === 'none' ? '' : kernel.tar;
  return [kernel.binary || 'kernel', tar, kernel.ucode ?? ''].filter(Boolean);
}

/** A one-layer tar of the kernel directory's files, at the layer root (where linuxkit looks). */
function kernelLayer(dir: string, names: string[]): Readable {
  const archive = tarPack();
  (async () => {
    for (const name of [...new Set(names)].sort()) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) continue; // linuxkit then names what is missing
      const header = { name, size: info.size, mode: info.mode & 0o7777, mtime: info.mtime, uid: 0, gid: 0 };
      await pipeline(createReadStream(path), archive.entry(header));
    }
    archive.finalize();
  })().catch((error: Error) => archive.destroy(error));
  return archive;
}

/**
 * Stores an image in the cache: each layer gzipped (level 1: linuxkit unpacks it right away),
 * the config with the diff_ids of what was written, a manifest listed under `expandedRef`.
 */
async function addCachedImage(cache: OciLayout, expandedRef: string, config: ImageConfig, layers: Readable[], arch: string): Promise<void> {
  const layerDescs: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const tar of layers) {
    const { layer, diffId } = await writeGzipLayer(cache, tar);
    layerDescs.push(layer);
    diffIds.push(diffId);
  }
  const configDesc = await cache.writeJsonBlob({ ...config, rootfs: { type: 'layers', diff_ids: diffIds } }, MediaType.ociConfig);
  const manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: layerDescs };
  const manifestDesc = await cache.writeJsonBlob(manifest, MediaType.ociManifest);
  await cache.addManifest({ ...manifestDesc, platform: { os: 'linux', architecture: arch } }, expandedRef);
}

async function writeGzipLayer(cache: OciLayout, tar: Readable): Promise<{ layer: Descriptor; diffId: string }> {
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const gzip = createGzip({ level: 1 });
  const [layer] = await Promise.all([cache.writeBlob(gzip, MediaType.ociLayerGzip), pipeline(tar, hashing, gzip)]);
  return { layer, diffId: `sha256:${hash.digest('hex')}` };
}
