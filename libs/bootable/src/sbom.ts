/**
 * A medium's SBOM, beside it in dist/bootable: the compressed image by sha256, every file on its
 * FAT partition and every raw write before it (u-boot) by sha256, what they come from (GRUB,
 * firmware, u-boot: the handler says), and a BOM-Link to the flavor's HookOS document.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { hookVersion, hookosFiles, inWorkspace, sha256OfPath } from '@hook/layout';
import { mediumBom, writeBom, type HookosFile } from '@hook/sbom';
import type { DiskLayout } from './disk-image';
import type { FlavorOutputs } from './handler';

async function describe(name: string, source: string | undefined, content: string | Buffer | undefined): Promise<HookosFile> {
  if (source !== undefined) return { name, sha256: await sha256OfPath(source), size: (await stat(source)).size };
  const bytes = Buffer.from(content ?? '');
  return { name, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

export async function writeMediumSbom(options: { path: string; medium: string; layout: DiskLayout; flavor: FlavorOutputs; workspaceRoot: string; env: NodeJS.ProcessEnv }): Promise<void> {
  const { layout, flavor } = options;
  const files = [
    ...(await Promise.all(layout.files.map((file) => describe(file.path, file.source, file.content)))),
    ...(await Promise.all(layout.raw.map((write) => describe(`raw@${write.offset}: ${write.what}`, write.source, write.content)))),
  ];
  const bom = mediumBom({
    kind: 'disk-image',
    medium: { name: basename(options.medium), sha256: await sha256OfPath(options.medium), size: (await stat(options.medium)).size },
    flavorId: flavor.flavorId,
    outputId: flavor.outputId,
    version: hookVersion(options.env),
    arch: flavor.arch,
    hookosBomJson: await readFile(inWorkspace(options.workspaceRoot, hookosFiles(flavor.outputId).sbom), 'utf8'),
    files,
    packages: layout.packages ?? [],
    properties: { 'medium:partition-table': layout.table, 'medium:partition-start': layout.partitionStart },
  });
  await writeBom(options.path, bom);
}
