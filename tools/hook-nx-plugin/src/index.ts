/**
 * The Hook Nx plugin: inferred projects for flavors, kernels and container images
 * (plugins/nodes.ts), and the edges between them read from their files (plugins/dependencies.ts).
 */
import { DependencyType, createNodesFromFiles, type CreateDependencies, type CreateNodesV2, type ProjectConfiguration } from '@nx/devkit';
import { hostDockerArch } from '@hook/layout';
import { PROJECT_FILES_GLOB, inferFromFile, type InferenceContext } from './plugins/nodes';
import { inferDependencies } from './plugins/dependencies';

export type HookPluginOptions = Record<string, never>;

function inferenceContext(workspaceRoot: string): InferenceContext {
  return { workspaceRoot, hostDockerArch: hostDockerArch(), cache: new Map() };
}

export const createNodesV2: CreateNodesV2<HookPluginOptions> = [
  PROJECT_FILES_GLOB,
  (files, options, context) => {
    const inference = inferenceContext(context.workspaceRoot);
    // One mistake shared by several files (a bad variable in a template that 13 flavors use) is
    // reported once, not once per file; the graph fails either way.
    const reported = new Set<string>();
    const inferOnce = (file: string) => {
      try {
        return inferFromFile(file, inference);
      } catch (error) {
        const message = (error as Error).message;
        if (reported.has(message)) return undefined;
        reported.add(message);
        throw error;
      }
    };
    return createNodesFromFiles(
      (file) => {
        const project = inferOnce(file);
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

export const createDependencies: CreateDependencies<HookPluginOptions> = (_options, context) => {
  const inference = inferenceContext(context.workspaceRoot);
  const projects = Object.values(context.projects);
  const names = new Set(projects.map((project) => project.name).filter((name): name is string => name !== undefined));
  return inferDependencies(
    projects.map((project) => project.root),
    inference,
    names,
  ).map((edge) => (edge.sourceFile ? { ...edge, sourceFile: edge.sourceFile, type: DependencyType.static } : { source: edge.source, target: edge.target, type: DependencyType.implicit }));
};
