/**
 * The registry operations the kernel library needs, in one swappable module over @hook/oci:
 * list tags (Armbian versions, USE_LATEST_BUILT_KERNEL), pull an artifact (Armbian's tar of
 * .debs), push files as an artifact.
 */
import { listTags, pullArtifact, pushArtifact, RegistryClient } from '@hook/oci';

export interface KernelRegistry {
  /** Tags of a repository such as `ghcr.io/armbian/os/kernel-meson64-edge`; empty when it has none. */
  listTags(repository: string): Promise<string[]>;
  /** Downloads an artifact's files into `destDir` and returns their paths. */
  pullArtifact(reference: string, destDir: string): Promise<string[]>;
}

export function defaultRegistry(env: NodeJS.ProcessEnv): KernelRegistry {
  const client = new RegistryClient({ env });
  return {
    listTags: (repository) => listTags(repository, { client }),
    pullArtifact: async (reference, destDir) => (await pullArtifact(reference, destDir, { client })).files,
  };
}

export { pushArtifact };
