/**
 * The one rule for which folders under images/ are images: a folder with a Dockerfile is a
 * container image (built FROM the base), a folder with an image.yaml is a base image (the Debian
 * base: a recipe, no Dockerfile of ours). Anything else under images/ is not an image. The Nx
 * plugin (one project per image), the flavor build (which template variables are images) and
 * the container build all read this.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const IMAGES_DIR = 'images';
export const DOCKERFILE = 'Dockerfile';
/** Marks a base image's folder. */
export const BASE_IMAGE_FILE = 'image.yaml';
/** The Debian base every Dockerfile image (and the kernel builder) starts FROM. */
export const BASE_IMAGE_NAME = 'debian-base';

export type ImageKind = 'base' | 'dockerfile';

export interface ImageFolder {
  name: string;
  kind: ImageKind;
}

/** Every image folder, sorted by name. */
export function imageFolders(workspaceRoot: string): ImageFolder[] {
  const base = join(workspaceRoot, IMAGES_DIR);
  if (!existsSync(base)) return [];
  const folders: ImageFolder[] = [];
  for (const entry of readdirSync(base, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const kind = imageKind(workspaceRoot, entry.name);
    if (kind) folders.push({ name: entry.name, kind });
  }
  return folders.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What `images/<name>` is, or undefined when it is not an image. A base recipe wins over a Dockerfile. */
export function imageKind(workspaceRoot: string, name: string): ImageKind | undefined {
  const dir = join(workspaceRoot, IMAGES_DIR, name);
  if (existsSync(join(dir, BASE_IMAGE_FILE))) return 'base';
  if (existsSync(join(dir, DOCKERFILE))) return 'dockerfile';
  return undefined;
}

export function imageNames(workspaceRoot: string, kind?: ImageKind): string[] {
  return imageFolders(workspaceRoot)
    .filter((folder) => kind === undefined || folder.kind === kind)
    .map((folder) => folder.name);
}
