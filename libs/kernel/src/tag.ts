/** Content-addressed kernel versions, as upstream: `<M>.<m>.<point>-<hash8>`. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '@hook/oci';

/** The build recipe hashed with the defconfig: the builder image recipe. */
export const BUILD_RECIPE = 'kernel/Dockerfile';

export async function sourceKernelTag(workspaceRoot: string, defconfigPath: string, major: number, minor: number, point: number): Promise<string> {
  const defconfig = await readFile(join(workspaceRoot, defconfigPath));
  const recipe = await readFile(join(workspaceRoot, BUILD_RECIPE)).catch(() => Buffer.alloc(0));
  return `${major}.${minor}.${point}-${sha256Hex(defconfig, recipe).slice(0, 8)}`;
}

/** Highest point release among published tags `<M>.<m>.<point>-<hash8>`. */
export function highestBuiltPoint(tags: string[], major: number, minor: number): number | undefined {
  const pattern = new RegExp(`^${major}\\.${minor}\\.(\\d+)-[0-9a-f]{8}$`);
  const points = tags.map((t) => pattern.exec(t)?.[1]).filter((p): p is string => p !== undefined).map(Number);
  return points.length ? Math.max(...points) : undefined;
}
