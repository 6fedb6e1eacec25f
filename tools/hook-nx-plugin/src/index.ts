/** The Hook Nx plugin: inferred projects for flavors, kernels and container images. */
import { createNodesFromFiles, type CreateNodesV2, type ProjectConfiguration } from '@nx/devkit';
import { PROJECT_FILES_GLOB, inferFromFile, type InferenceContext } from './plugins/nodes';

export type HookPluginOptions = Record<string, never>;

function hostDockerArch(): 'amd64' | 'arm64' {
  return process.arch === 'arm64' ? 'arm64' : 'amd64';
}

export const createNodesV2: CreateNodesV2<HookPluginOptions> = [
  PROJECT_FILES_GLOB,
  (files, options, context) => {
    const inference: InferenceContext = { workspaceRoot: context.workspaceRoot, hostDockerArch: hostDockerArch(), cache: new Map() };
    return createNodesFromFiles(
      (file) => {
        const project = inferFromFile(file, inference);
        if (!project) return {};
        const { root, ...configuration } = project;
        // InferredProject is a structural subset of ProjectConfiguration, kept Nx-free for tests.
        return { projects: { [root]: { root, ...(configuration as unknown as Omit<ProjectConfiguration, 'root'>) } } };
      },
      files,
      options,
      context,
    );
  },
];

export const createNodes = createNodesV2;
