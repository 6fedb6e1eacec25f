/**
 * Images pulled from their registry: the manifest for the wanted platform and its blobs go into
 * a temp OCI layout, served from there like a dist/ layout. A ref the registry does not have
 * (HTTP 404) is `undefined`; authentication and network failures are the UserErrors of
 * @hook/oci and stop the build. Pulling can be switched off with HOOK_PULL_IMAGES=no.
 */
import { UserError, log } from '@hook/log';
import { RegistryClient, parseNormalizedNamed, pullImageToLayout, type Platform } from '@hook/oci';
import { CopyingResolver } from './copying-resolver';
import { type ImageSource, layoutImageSource } from './resolver';
import { setting } from '@hook/settings';

/** HOOK_PULL_IMAGES: `yes` (the default) lets the build pull missing images, `no` forbids it. */
export function pullAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return setting(env, 'HOOK_PULL_IMAGES');
}

export interface RegistryResolverOptions {
  /** HOOK_PULL_IMAGES, credentials (DOCKER_CONFIG), HOOK_INSECURE_REGISTRIES; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The client to pull with; default one made from `env`. */
  client?: RegistryClient;
  /** Parent of the temp layout; default the OS temp dir. */
  tempDir?: string;
}

export class RegistryResolver extends CopyingResolver {
  readonly description: string;
  /** False when HOOK_PULL_IMAGES=no: the resolver then has no images. */
  readonly enabled: boolean;
  private readonly client: RegistryClient;

  constructor(options: RegistryResolverOptions = {}) {
    super(options.tempDir, 'hook-pulled-images-');
    const env = options.env ?? process.env;
    this.enabled = pullAllowed(env);
    this.description = this.enabled ? "the image's registry" : "the image's registry (not asked: HOOK_PULL_IMAGES=no)";
    this.client = options.client ?? new RegistryClient({ env });
  }

  protected async copy(ref: string, platform: Platform): Promise<ImageSource | undefined> {
    if (!this.enabled) return undefined;
    const reference = parseNormalizedNamed(ref);
    // HEAD first: a missing tag or repository is "not here", every other failure is an error.
    if (!(await this.client.headManifest(reference))) {
      log.debug(`${reference.familiarString()} is not in its registry`);
      return undefined;
    }
    const layout = await this.tempLayout();
    const refName = reference.toString();
    try {
      await pullImageToLayout(reference, platform, layout, { client: this.client, refName });
    } catch (error) {
      // A single-platform image for another architecture is pulled, then refused by the layout's
      // platform check; serve it anyway so that requireImage names both architectures.
      if (!(error instanceof UserError) || !(await layout.refNames()).includes(refName)) throw error;
      log.debug(`${reference.familiarString()}: ${error.message}`);
    }
    return layoutImageSource(layout, refName, ref, undefined, `registry ${reference.domain}`);
  }
}
