/**
 * `hook clean`: what builds left behind. In the Docker engine: dangling images, the images'
 * builder stages (`hook-builder/*`, builder-stage.ts) and Hook images (`<registry base><image
 * folder>:<hash8>-<arch>`) that dist/images/*\/*\/image.json does not record. On disk: staging
 * and temp folders of builds that no longer run, and the entries of the cache folder (CACHE_DIR).
 * Kept light (no @hook/oci, @hook/sbom): the CLI bundles it (`@hook/containers/clean`).
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type Dockerode from 'dockerode';
import { connectDocker } from '@hook/docker';
import { DIST_DIR, DOCKER_ARCHES, cacheDir, containersOciBase, imageNames, inWorkspace, readImageJson, stagingDirs } from '@hook/layout';
import { UserError, formatBytes, log } from '@hook/log';
import { findStaleTemp } from '@hook/process';
import { BUILDER_STAGE_REPO_PREFIX } from './tag';

export type CleanKind = 'dangling image' | 'builder stage' | 'unrecorded image' | 'staging' | 'cache';

export interface CleanItem {
  kind: CleanKind;
  /** An image reference or ID, or a path. */
  name: string;
  /** What removing it frees, as far as known (an image: the layers no other image shares). */
  bytes: number;
  remove(): Promise<void>;
}

export interface CleanPlan {
  items: CleanItem[];
  /** Why the engine's part was left out (no engine answered). */
  engineProblem?: string;
}

export interface CleanOptions {
  workspaceRoot: string;
  env: NodeJS.ProcessEnv;
}

/** Everything `hook clean` would remove, engine first, then files. Nothing is removed. */
export async function planClean(opts: CleanOptions): Promise<CleanPlan> {
  const cache = checkedCacheDir(opts);
  const items: CleanItem[] = [];
  let engineProblem: string | undefined;
  try {
    const { docker } = await connectDocker(opts.env, 5000);
    items.push(...(await engineItems(docker, opts)));
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    engineProblem = error.message;
  }
  for (const path of findStaleTemp(stagingDirs(opts.workspaceRoot, opts.env), opts.env)) items.push(await pathItem('staging', path));
  for (const name of await listDir(cache)) items.push(await pathItem('cache', join(cache, name)));
  const order: CleanKind[] = ['dangling image', 'builder stage', 'unrecorded image', 'staging', 'cache'];
  items.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  return { items, engineProblem };
}

/** The cache folder, refused when removing its entries would remove the workspace or more. */
function checkedCacheDir(opts: CleanOptions): string {
  const cache = cacheDir(opts.workspaceRoot, opts.env);
  // From the cache to the workspace: not upwards means the cache is the workspace or holds it.
  const up = relative(cache, opts.workspaceRoot);
  if (up === '' || !up.startsWith('..')) {
    throw new UserError(`CACHE_DIR is ${cache}, which holds the workspace ${opts.workspaceRoot}: hook clean removes the cache's entries; set CACHE_DIR to a folder of its own (default: cache/ in the workspace)`);
  }
  return cache;
}

async function engineItems(docker: Dockerode, opts: CleanOptions): Promise<CleanItem[]> {
  const images = await docker.listImages();
  const recorded = await recordedRefs(opts.workspaceRoot);
  const base = containersOciBase(opts.env);
  const folders = new Set(imageNames(opts.workspaceRoot));
  const tagPattern = new RegExp(`^[0-9a-f]{8}-(?:${DOCKER_ARCHES.join('|')})$`);
  const isHookImage = (ref: string) => {
    const colon = ref.lastIndexOf(':');
    const repo = ref.slice(0, colon);
    return repo.startsWith(base) && folders.has(repo.slice(base.length)) && tagPattern.test(ref.slice(colon + 1));
  };
  const found: Array<{ kind: CleanKind; name: string; ref: string; imageId: string; last: boolean }> = [];
  for (const image of images) {
    const tags = (image.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    if (tags.length === 0) {
      // Untagged and no image builds on it (listImages leaves out intermediate images).
      found.push({ kind: 'dangling image', name: image.Id.replace(/^sha256:/, '').slice(0, 12), ref: image.Id, imageId: image.Id, last: true });
      continue;
    }
    const removable = tags.filter((t) => t.startsWith(BUILDER_STAGE_REPO_PREFIX) || (isHookImage(t) && !recorded.has(t)));
    // Removing some of an image's tags frees nothing; its last tag frees the image.
    removable.forEach((tag, i) =>
      found.push({ kind: tag.startsWith(BUILDER_STAGE_REPO_PREFIX) ? 'builder stage' : 'unrecorded image', name: tag, ref: tag, imageId: image.Id, last: removable.length === tags.length && i === removable.length - 1 }),
    );
  }
  const freed = await freedBytes(docker, images.map((i) => i.Id), new Set(found.filter((f) => f.last).map((f) => f.imageId)));
  return found.map((f) => ({ kind: f.kind, name: f.name, bytes: f.last ? (freed.get(f.imageId) ?? 0) : 0, remove: () => removeImage(docker, f.ref) }));
}

/**
 * What removing the images `removed` frees, per image: the layers (history entries) of its chain
 * that no image staying uses, each counted once, for the first removed image that has it.
 */
async function freedBytes(docker: Dockerode, imageIds: string[], removed: Set<string>): Promise<Map<string, number>> {
  const layers = new Map<string, { size: number; users: string[] }>();
  for (const id of imageIds) {
    const history = (await docker.getImage(id).history().catch(() => [])) as Array<{ Id: string; Size: number }>;
    history.forEach((entry, index) => {
      // Loaded images name no parents: such entries are the image's own.
      const key = entry.Id && entry.Id !== '<missing>' ? entry.Id : `${id}#${index}`;
      const layer = layers.get(key) ?? { size: entry.Size, users: [] };
      layer.users.push(id);
      layers.set(key, layer);
    });
  }
  const freed = new Map<string, number>();
  for (const { size, users } of layers.values()) {
    if (!users.every((user) => removed.has(user))) continue;
    freed.set(users[0], (freed.get(users[0]) ?? 0) + size);
  }
  return freed;
}

/** `docker rmi` without force: an image a container uses stays (an error saying so). */
async function removeImage(docker: Dockerode, ref: string): Promise<void> {
  await docker.getImage(ref).remove();
}

/** The image references dist/images/<name>/<arch>/image.json records. */
async function recordedRefs(workspaceRoot: string): Promise<Set<string>> {
  const refs = new Set<string>();
  const images = inWorkspace(workspaceRoot, `${DIST_DIR}/images`);
  for (const name of await listDir(images)) {
    for (const arch of await listDir(join(images, name))) {
      const metadata = await readImageJson(join(images, name, arch));
      if (metadata?.ref) refs.add(metadata.ref);
    }
  }
  return refs;
}

async function pathItem(kind: CleanKind, path: string): Promise<CleanItem> {
  return { kind, name: path, bytes: await diskUsage(path), remove: () => rm(path, { recursive: true, force: true }) };
}

/** Bytes of the files under `path` (hard links counted once), without following symbolic links. */
async function diskUsage(path: string, seen = new Set<string>()): Promise<number> {
  let stat;
  try {
    stat = await lstat(path);
  } catch {
    return 0;
  }
  if (stat.isDirectory()) {
    let total = 0;
    for (const name of await listDir(path)) total += await diskUsage(join(path, name), seen);
    return total;
  }
  const key = `${stat.dev}:${stat.ino}`;
  if (stat.nlink > 1 && seen.has(key)) return 0;
  seen.add(key);
  return stat.blocks * 512;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}


/**
 * `hook clean [--dry-run]`: lists each item with its size and the total to `write`; removes them
 * unless `dryRun`. An item that cannot be removed (an image a container uses) is a warning and
 * stays. Returns the number of items that stayed.
 */
export async function runClean(opts: CleanOptions & { dryRun: boolean; write(text: string): unknown; select?: (item: CleanItem) => boolean }): Promise<number> {
  const plan = await planClean(opts);
  // Tests on a shared engine clean only what they made.
  if (opts.select) plan.items = plan.items.filter(opts.select);
  if (plan.engineProblem) log.warn(`The Docker engine was not reachable, so its images were not cleaned (${plan.engineProblem})`);
  const root = opts.workspaceRoot;
  const shown = (item: CleanItem) => (item.kind === 'staging' || item.kind === 'cache' ? relativeOrAbsolute(root, item.name) : item.name);
  const kindWidth = Math.max(0, ...plan.items.map((i) => i.kind.length));
  let total = 0;
  let kept = 0;
  for (const item of plan.items) {
    let note = '';
    if (!opts.dryRun) {
      try {
        await item.remove();
      } catch (error) {
        kept++;
        note = `  (kept: ${(error as Error).message.split('\n')[0]})`;
      }
    }
    if (!note) total += item.bytes;
    opts.write(`${item.kind.padEnd(kindWidth)}  ${formatBytes(item.bytes, 1000).padStart(8)}  ${shown(item)}${note}\n`);
  }
  const count = plan.items.length - kept;
  if (plan.items.length === 0) opts.write('Nothing to clean.\n');
  else opts.write(`${opts.dryRun ? 'Would remove' : 'Removed'} ${count} item(s), ${formatBytes(total, 1000)}${opts.dryRun ? ' (dry run: nothing removed)' : ''}${kept ? `; ${kept} kept` : ''}\n`);
  return kept;
}

function relativeOrAbsolute(root: string, path: string): string {
  const rel = relative(root, path);
  return rel.startsWith('..') || rel.startsWith(sep) ? path : rel;
}
