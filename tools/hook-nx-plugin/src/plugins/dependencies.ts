/**
 * Edges between the inferred projects, read from the files that make them (Nx's
 * createDependencies): a flavor depends on the kernel its flavor.yaml names (its own id or
 * USE_KERNEL_ID) and on every image its TEMPLATE names; a Dockerfile image and a kernel compiled
 * in the kernel builder depend on the base image they are built FROM. Each edge names the file
 * it comes from, so `nx graph` and `nx affected` follow the files.
 *
 * Each project also depends on the library its targets' executor runs (a flavor on hookos, a
 * kernel on kernel, an image on containers), so `nx affected` follows a library change to the
 * projects it rebuilds, and no further: a change to libs/iso affects flavors, not kernels. The
 * hash says the same through the named inputs of TOOLING_INPUTS.
 */
import { kernelProjectName } from '@hook/inventory';
import { baseImages, imageFolders, readFlavor, readKernel, usesKernelBuilder, type InferenceContext } from './nodes';

export interface InferredDependency {
  source: string;
  target: string;
  /** The file of the source project that states the edge; none for the edge to the executor's library. */
  sourceFile?: string;
}

/** The library (Nx project) the build executor of each kind of project runs. */
export const TOOLING_LIBRARIES = { flavor: 'hookos', kernel: 'kernel', image: 'containers', bootable: 'bootable' } as const;

/** Edges for the projects at these roots (`flavors/<id>`, `kernel/<id>`, `images/<name>`). */
export function inferDependencies(roots: Iterable<string>, ctx: InferenceContext, libraries: ReadonlySet<string> = new Set()): InferredDependency[] {
  const edges: InferredDependency[] = [];
  const tooling = (source: string, library: string) => {
    if (libraries.has(library)) edges.push({ source, target: library });
  };
  for (const root of roots) {
    const parts = root.split('/');
    if (parts.length !== 2) continue;
    const [dir, id] = parts;
    if (dir === 'flavors') {
      const { flavor, kernel, images } = readFlavor(ctx, id);
      const sourceFile = `${root}/flavor.yaml`;
      edges.push({ source: id, target: kernelProjectName(kernel.id), sourceFile });
      for (const image of images) edges.push({ source: id, target: image, sourceFile });
      tooling(id, TOOLING_LIBRARIES.flavor);
      // Its bootable-<id> targets run @hook/bootable.
      if (flavor.BOOTABLES.length > 0) tooling(id, TOOLING_LIBRARIES.bootable);
    } else if (dir === 'kernel') {
      const kernel = readKernel(ctx, id);
      if (!kernel) continue;
      if (usesKernelBuilder(kernel)) {
        for (const base of baseImages(ctx)) edges.push({ source: kernelProjectName(id), target: base, sourceFile: `${root}/kernel.yaml` });
      }
      tooling(kernelProjectName(id), TOOLING_LIBRARIES.kernel);
    } else if (dir === 'images' && imageFolders(ctx).includes(id)) {
      if (!baseImages(ctx).includes(id)) {
        for (const base of baseImages(ctx)) edges.push({ source: id, target: base, sourceFile: `${root}/Dockerfile` });
      }
      tooling(id, TOOLING_LIBRARIES.image);
    }
  }
  return edges;
}
