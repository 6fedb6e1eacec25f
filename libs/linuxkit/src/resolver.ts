/**
 * Where images come from. The build chains resolvers (dist/ OCI layouts first, then the Docker
 * engine, then a registry); each returns `undefined` for an image it does not have, so the next
 * one is asked. This file implements the OCI-layout resolver and the chain; the engine and
 * registry resolvers (engine-resolver.ts, registry-resolver.ts) copy an image into a temp OCI
 * layout and serve it through the same code (`layoutImageSource`).
 */
import type { Readable } from 'node:stream';
import { UserError } from '@hook/log';
import {
  CONTAINERD_NAME_ANNOTATION,
  type ImageConfig,
  OciLayout,
  REF_NAME_ANNOTATION,
  formatPlatform,
  normalizePlatform,
  openLayerStream,
  type Platform,
} from '@hook/oci';
import { referenceExpand } from './config';

/** One resolved image for one platform. */
export interface ImageSource {
  /** The ref as asked for. */
  ref: string;
  /** Where it was found, for messages (`OCI layout dist/images/init`). */
  origin: string;
  /** The OCI image config (architecture, os, config.Env/Cmd/Labels ...). */
  config: ImageConfig;
  /** Openers for the layers as uncompressed tar streams, bottom layer first. */
  layers: Array<() => Readable>;
}

export interface ImageResolver {
  /** Short description for messages (`OCI layouts in dist/`). */
  readonly description: string;
  /** The image for the platform, or undefined when this resolver does not have the ref. */
  resolve(ref: string, platform: Platform): Promise<ImageSource | undefined>;
  /**
   * Frees what the resolver holds (temp layouts). The sources it returned are unreadable
   * afterwards: call it once the build has consumed them. Safe to call twice.
   */
  close?(): Promise<void>;
}

/** An image of a layout (listed under `name`) as an ImageSource; layers read from the layout. */
export async function layoutImageSource(layout: OciLayout, name: string, ref: string, platform: Platform | undefined, origin: string): Promise<ImageSource> {
  const image = await layout.resolveImage(name, platform);
  return {
    ref,
    origin,
    config: image.config,
    layers: image.layers.map((layer) => () => openLayerStream(layout, layer)),
  };
}

/** The names an image may be listed under: as written, expanded (docker.io/library/x), short. */
export function refCandidates(ref: string): string[] {
  const expanded = referenceExpand(ref);
  const short = expanded.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
  return [...new Set([ref, expanded, short])];
}

/** Finds images in OCI image layouts by their ref-name (or containerd image-name) annotation. */
export class OciLayoutResolver implements ImageResolver {
  readonly description: string;
  private layouts?: Promise<OciLayout[]>;

  constructor(private readonly dirs: string[]) {
    this.description = `OCI layouts (${dirs.join(', ') || 'none'})`;
  }

  async resolve(ref: string, platform: Platform): Promise<ImageSource | undefined> {
    this.layouts ??= Promise.all(this.dirs.map((dir) => OciLayout.open(dir)));
    const candidates = refCandidates(ref);
    for (const layout of await this.layouts) {
      const index = await layout.readIndex();
      const names = index.manifests.flatMap((m) => [m.annotations?.[REF_NAME_ANNOTATION], m.annotations?.[CONTAINERD_NAME_ANNOTATION]]);
      const name = candidates.find((c) => names.includes(c));
      if (!name) continue;
      return layoutImageSource(layout, name, ref, platform, `OCI layout ${layout.dir}`);
    }
    return undefined;
  }
}

/** Asks each resolver in turn. */
export class ChainResolver implements ImageResolver {
  readonly description: string;

  constructor(private readonly resolvers: ImageResolver[]) {
    this.description = resolvers.map((r) => r.description).join(', then ');
  }

  async resolve(ref: string, platform: Platform): Promise<ImageSource | undefined> {
    for (const resolver of this.resolvers) {
      const found = await resolver.resolve(ref, platform);
      if (found) return found;
    }
    return undefined;
  }

  /** Closes every resolver, even when one fails (the first failure is thrown afterwards). */
  async close(): Promise<void> {
    const results = await Promise.allSettled(this.resolvers.map((r) => r.close?.()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/**
 * Resolves an image or fails with one clear line: missing image, or an image built for another
 * architecture. `where` names the YAML place (`hook.yaml:42: services[3]`).
 */
export async function requireImage(resolver: ImageResolver, ref: string, arch: string, where: string): Promise<ImageSource> {
  const wanted = normalizePlatform({ os: 'linux', architecture: arch });
  let source: ImageSource | undefined;
  try {
    source = await resolver.resolve(ref, wanted);
  } catch (error) {
    if (error instanceof UserError) throw new UserError(`${where}: ${error.message}`);
    throw error;
  }
  if (!source) {
    throw new UserError(`${where}: image ${ref} not found in ${resolver.description}; build it first (or pull it) for linux/${wanted.architecture}`);
  }
  const actual = normalizePlatform({ os: source.config.os || 'linux', architecture: source.config.architecture || '?' });
  if (actual.architecture !== wanted.architecture) {
    throw new UserError(
      `${where}: image ${ref} is built for ${formatPlatform(actual)}, but this build is for ${formatPlatform(wanted)}; build or pull it for ${wanted.architecture}`,
    );
  }
  return source;
}
