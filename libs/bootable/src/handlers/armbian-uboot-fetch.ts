/**
 * The board's u-boot from Armbian's published OCI artifacts (`<ARMBIAN_BASE_ORAS_REF>/uboot-<BOARD>-<BRANCH>`,
 * tags like `2024.01-S866c-...`): the artifact holds a `linux-u-boot-*.deb` (directly, or in a tar
 * of .debs as Armbian's kernel artifacts do), whose `usr/lib/linux-u-boot-*` folder carries the
 * binaries and `u-boot-metadata.sh`, and `usr/lib/u-boot/platform_install.sh` the way Armbian
 * writes them. Pulled once per tag into the cache (Armbian's tags are immutable).
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError, log } from '@hook/log';
import { extractDebData, exists, tempDirBeside, unpackTar } from '@hook/debian';
import { cacheDir } from '@hook/layout';
import { artifactRegistry, type ArtifactRegistry } from '@hook/oci';
import { armbianOciBase } from '@hook/layout';
import { setting } from '@hook/settings';


/** Armbian u-boot tags: the u-boot version, then Armbian's `-S<hash>` part. */
const UBOOT_TAG = /^v?(\d{4})\.(\d{2})(?:\.(\d+))?(?:-rc\d+)?-S[0-9a-f]+/;

function compareUbootTags(a: string, b: string): number {
  const [ma, mb] = [UBOOT_TAG.exec(a), UBOOT_TAG.exec(b)];
  for (let i = 1; i <= 3; i++) {
    const diff = Number(ma?.[i] ?? 0) - Number(mb?.[i] ?? 0);
    if (diff) return diff;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The newest Armbian u-boot tag, or undefined when none looks like one. */
export function latestUbootTag(tags: string[]): string | undefined {
  return tags.filter((t) => UBOOT_TAG.test(t)).sort(compareUbootTags).pop();
}

export function armbianUbootRepository(env: NodeJS.ProcessEnv, board: string, branch: string): string {
  return `${armbianOciBase(env)}/uboot-${board}-${branch}`;
}

/** What an Armbian u-boot package gives a bootable. */
export interface ArmbianUboot {
  /** `<repository>:<tag>` that was used. */
  reference: string;
  /** The folder with the binaries (`usr/lib/linux-u-boot-*`). */
  binariesDir: string;
  /** File names in binariesDir. */
  files: string[];
  metadata: UbootMetadata;
}

/**
 * Armbian's u-boot-metadata.sh: plain `NAME="value"` assignments (never run as a script here).
 * UBOOT_PARTITION_TYPE, UBOOT_KERNEL_DTB, UBOOT_KERNEL_SERIALCON, UBOOT_EXTLINUX_PREFER, UBOOT_EXTLINUX_CMDLINE.
 */
export type UbootMetadata = Record<string, string>;

export function parseUbootMetadata(text: string): UbootMetadata {
  const values: UbootMetadata = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/^(?:declare\s+(?:-[a-zA-Z]+\s+)*|export\s+)/, '');
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2].trim();
    const quoted = /^"((?:[^"\\]|\\.)*)"|^'([^']*)'/.exec(value);
    if (quoted) value = quoted[1] !== undefined ? quoted[1].replace(/\\(.)/g, '$1') : quoted[2];
    else value = value.replace(/\s+#.*$/, '');
    values[match[1]] = value;
  }
  return values;
}

/**
 * Resolves the tag (UBOOT_VERSION, else the newest), pulls the artifact into the cache once and
 * unpacks its linux-u-boot .deb there.
 */
export async function fetchArmbianUboot(options: {
  workspaceRoot: string;
  board: string;
  branch: string;
  env: NodeJS.ProcessEnv;
  registry?: ArtifactRegistry;
}): Promise<ArmbianUboot> {
  const { workspaceRoot, board, branch, env } = options;
  const registry = options.registry ?? artifactRegistry(env);
  const repository = armbianUbootRepository(env, board, branch);
  const tags = await registry.listTags(repository).catch((error: unknown) => {
    if (error instanceof UserError && /not found/.test(error.message)) {
      throw new UserError(`there is no Armbian u-boot artifact ${repository} (board ${board}, branch ${branch}); check BOARD, BRANCH and ARMBIAN_BASE_ORAS_REF`);
    }
    throw error;
  });
  const pinned = setting(env, 'UBOOT_VERSION');
  const tag = pinned || latestUbootTag(tags);
  if (!tag) throw new UserError(`${repository} has no Armbian u-boot tag (like 2024.01-Sabcd); check BOARD, BRANCH and ARMBIAN_BASE_ORAS_REF`);
  if (pinned && !tags.includes(pinned)) {
    const recent = tags.filter((t) => UBOOT_TAG.test(t)).sort(compareUbootTags).slice(-3);
    throw new UserError(`${repository} has no tag UBOOT_VERSION=${pinned}; recent tags: ${recent.join(', ') || 'none'}`);
  }
  const reference = `${repository}:${tag}`;
  log.info(`u-boot for ${board} (${branch}): Armbian ${reference}`);
  const dir = cacheDir(workspaceRoot, env, 'bootable', 'armbian-uboot', `uboot-${board}-${branch}`, tag);
  if (!(await exists(dir))) {
    const temp = await tempDirBeside(dir);
    try {
      const pulled = join(temp, 'artifact');
      await mkdir(pulled);
      await registry.pullArtifact(reference, pulled);
      const deb = await findUbootDeb(pulled, join(temp, 'debs'), reference);
      await extractDebData(deb, join(temp, 'package'));
      await rm(pulled, { recursive: true, force: true });
      await rename(temp, dir);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  }
  return readUbootPackage(join(dir, 'package'), reference);
}

/** The linux-u-boot-*.deb of a pulled artifact: directly, or inside its tar of .debs. */
async function findUbootDeb(artifactDir: string, work: string, reference: string): Promise<string> {
  const isUbootDeb = (name: string) => /^linux-u-boot-.*\.deb$/.test(basename(name));
  for (const name of await readdir(artifactDir)) {
    const path = join(artifactDir, name);
    if (isUbootDeb(name)) return path;
    if (/\.tar$/.test(name)) {
      const written = await unpackTar(createReadStream(path), work, (member, header) => header.type === 'directory' || isUbootDeb(member));
      const found = written.find((p) => isUbootDeb(p));
      if (found) return join(work, found);
    }
  }
  throw new UserError(`${reference} contains no linux-u-boot-*.deb; is it an Armbian u-boot artifact?`);
}

async function readUbootPackage(packageDir: string, reference: string): Promise<ArmbianUboot> {
  const lib = join(packageDir, 'usr', 'lib');
  const folder = (await readdir(lib).catch(() => [] as string[])).find((n) => n.startsWith('linux-u-boot-'));
  if (!folder) throw new UserError(`${reference}: its package has no usr/lib/linux-u-boot-* folder; is it an Armbian u-boot package?`);
  const binariesDir = join(lib, folder);
  const files = (await readdir(binariesDir)).sort();
  // Beside the binaries, or beside platform_install.sh (upstream flattens both folders).
  let metadata: UbootMetadata = {};
  for (const path of [join(binariesDir, 'u-boot-metadata.sh'), join(lib, 'u-boot', 'u-boot-metadata.sh')]) {
    if (await exists(path)) {
      metadata = parseUbootMetadata(await readFile(path, 'utf8'));
      break;
    }
  }
  return { reference, binariesDir, files, metadata };
}
