/**
 * `hook bootable-media <bootable-id>`: find the bootable and its flavor, choose the boards
 * (BOARD, default all), check the flavor's build, let the handler lay out the disk, write the
 * image and compress it as upstream names it: dist/bootable/<name>.img.xz.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { UserError, log } from '@hook/log';
import { BOOTABLE_DIR, inWorkspace, mediaManifestFile, mediumFiles, verifySha256Sums } from '@hook/layout';
import { loadInventory, mediumImageName, type Bootable, type ResolvedFlavor } from '@hook/inventory';
import { makeTempDir, removeOnInterrupt, run } from '@hook/process';
import { tinkSettings } from './cmdline';
import { writeDiskImage } from './disk-image';
import type { BootableHandler, FlavorOutputs } from './handler';
import { HANDLERS } from './handlers';
import { writeMediumSbom } from './sbom';
import { resolveBootable, selectBoards, type MediaManifest } from './select';
import { LINUXKIT_EPOCH, setting } from '@hook/settings';


/** The handler of a bootable; one line when there is none yet. */
export function handlerOf(bootable: Bootable): BootableHandler {
  const handler = HANDLERS[bootable.HANDLER];
  if (!handler) throw new UserError(`bootable ${bootable.ID}: handler ${bootable.HANDLER} is not implemented yet`);
  return handler;
}

export interface BootableMediaRequest {
  workspaceRoot: string;
  bootableId: string;
  /** The flavor whose target runs this (the bootable must be one of its own). */
  flavorId?: string;
  env: NodeJS.ProcessEnv;
  /** Leave the image uncompressed (`<name>.img`), e.g. to boot it in a test. Default: xz, as upstream. */
  compress?: boolean;
  /** Default dist/bootable in the workspace. */
  outputDir?: string;
}

export interface WrittenMedium {
  board: string;
  /** Absolute path of the image (.img.xz, or .img without compression). */
  file: string;
  /** The raw image's size. */
  imageBytes: number;
}

/** The flavor's built files, checked against dist/hook/SHA256SUMS-<OUTPUT_ID> (Nx restores its cache unchecked). */
export async function flavorOutputs(workspaceRoot: string, { flavor, outputId, files }: ResolvedFlavor): Promise<FlavorOutputs> {
  const path = (relative: string) => inWorkspace(workspaceRoot, relative);
  for (const [what, relative] of [['kernel', files.vmlinuz], ['initramfs', files.initramfs], ['HookOS SBOM', files.sbom]] as const) {
    if (!existsSync(path(relative))) {
      throw new UserError(`${relative} (the ${what}) is missing: build the flavor first: ./hook build ${flavor.id} (npx nx run ${flavor.id}:build)`);
    }
  }
  await verifySha256Sums(workspaceRoot, path(files.checksums), `${flavor.id}:build`);
  return {
    flavorId: flavor.id,
    outputId,
    arch: flavor.ARCH,
    kernel: path(files.vmlinuz),
    initramfs: path(files.initramfs),
    dtbs: existsSync(path(files.dtbs)) ? path(files.dtbs) : undefined,
  };
}

/** SOURCE_DATE_EPOCH, else LinuxKit's epoch, as the initramfs and the ISO use. */
function sourceDateEpoch(env: NodeJS.ProcessEnv): number {
  return setting(env, 'SOURCE_DATE_EPOCH') ?? LINUXKIT_EPOCH;
}

/** Writes the media of a bootable, one per selected board. Nothing is left half-written. */
export async function buildBootableMedia(request: BootableMediaRequest): Promise<WrittenMedium[]> {
  const { workspaceRoot, env } = request;
  const inventory = loadInventory(workspaceRoot);
  const resolved = resolveBootable(inventory, request.bootableId, request.flavorId);
  const { bootable, flavor, outputId } = resolved;
  const handler = handlerOf(bootable);
  const boards = selectBoards(bootable, setting(env, 'BOARD'));
  const epoch = sourceDateEpoch(env);
  // Every setting is checked before anything is read or written.
  const settings = boards.map((board) => ({ board, tink: tinkSettings(env, board.id) }));
  const outputs = await flavorOutputs(workspaceRoot, resolved);
  const outputDir = request.outputDir ?? inWorkspace(workspaceRoot, BOOTABLE_DIR);

  const written: WrittenMedium[] = [];
  for (const { board, tink } of settings) {
    const work = await makeTempDir(`bootable-${board.id}`, env);
    try {
      const layout = await handler.layout({ workspaceRoot, flavor: outputs, bootable, board, tink, env, workDir: work });
      const imageName = mediumImageName(bootable, board, outputId);
      const names = mediumFiles(imageName);
      const compress = request.compress !== false;
      // Compressed media: the raw image stays in the temp folder, only the .xz lands in dist/.
      const image = compress ? join(work, 'image', imageName) : join(outputDir, imageName);
      const result = await writeDiskImage(layout, image, { sourceDateEpoch: epoch, env });
      const file = compress ? await compressXz(image, join(outputDir, basename(names.image)), env) : image;
      await writeMediumSbom({ path: join(outputDir, basename(names.sbom)), medium: file, layout, flavor: outputs, workspaceRoot, env });
      log.info(`Bootable media for ${bootable.ID}, board ${board.id}: ${file} (image ${Math.round(result.bytes / 1048576)} MiB, FAT32 partition at ${result.partitionStart} bytes)`);
      written.push({ board: board.id, file, imageBytes: result.bytes });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  if (request.outputDir === undefined) {
    const manifest: MediaManifest = { bootable: bootable.ID, flavor: flavor.id, media: Object.fromEntries(written.map((m) => [m.board, relative(workspaceRoot, m.file).split(sep).join('/')])) };
    const path = inWorkspace(workspaceRoot, mediaManifestFile(bootable.ID));
    const partial = join(dirname(path), `.tmp-${process.pid}-${basename(path)}`);
    await writeFile(partial, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(partial, path);
  }
  return written;
}

/**
 * `output` (`<name>.img.xz`) from `image`, as upstream's pixz step; then the raw image is removed.
 * xz in multi-threaded mode with a fixed block size: the same bytes with any number of threads
 * (single-threaded mode would write a different stream).
 */
export async function compressXz(image: string, output: string, env: NodeJS.ProcessEnv): Promise<string> {
  await mkdir(dirname(output), { recursive: true });
  const partial = join(dirname(output), `.tmp-${process.pid}-${basename(output)}`);
  const forget = removeOnInterrupt(partial);
  try {
    await rm(output, { force: true });
    await run('sh', ['-c', 'xz --threads=0 --block-size=16MiB -6 --check=crc64 --stdout -- "$1" > "$2"', 'xz', image, partial], { env });
    await rename(partial, output);
    await rm(image, { force: true });
    return output;
  } finally {
    forget();
    await rm(partial, { force: true });
  }
}
