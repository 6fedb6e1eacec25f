/**
 * What the workflow check compares the workflows with, read from this workspace: the Nx project
 * graph (`nx graph --file`), the hook commands and the gha-matrix fields.
 */
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { computeMatrices, githubOutputLines } from '@hook/ci-matrix';
import { loadInventory } from '@hook/inventory';
import { Logger } from '@hook/log';
import { makeTempDir, run } from '@hook/process';
import { findCommand } from '../../../apps/hook-cli/src/args';
import type { WorkspaceFacts } from './workflows';

interface GraphFile {
  graph: { nodes: Record<string, { data: { tags?: string[]; targets?: Record<string, unknown> } }> };
}

export async function workspaceFacts(root: string): Promise<WorkspaceFacts> {
  const dir = await makeTempDir('workflow-check');
  const file = join(dir, 'graph.json');
  await run('node', [nxEntry(root), 'graph', `--file=${file}`], {
    cwd: root,
    env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
    timeoutMs: 180_000,
  });
  const graph = JSON.parse(await readFile(file, 'utf8')) as GraphFile;
  await rm(dir, { recursive: true, force: true });
  const projects = new Map<string, Set<string>>();
  const tags = new Map<string, string[]>();
  for (const [name, node] of Object.entries(graph.graph.nodes)) {
    projects.set(name, new Set(Object.keys(node.data.targets ?? {})));
    tags.set(name, node.data.tags ?? []);
  }
  return { projects, tags, isHookCommand: (word) => findCommand(word) !== undefined, matrices: matrixFields(root) };
}

/** The workspace's Nx entry script, from nx's package.json (its location moved between majors). */
export function nxEntry(root: string): string {
  const dir = join(root, 'node_modules/nx');
  const bin = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin.nx;
  return join(dir, bin);
}

/** Each gha-matrix output's fields and their values, over every flavor (all CI tags selected). */
export function matrixFields(root: string): Map<string, Map<string, string[]>> {
  const inventory = loadInventory(root);
  const allTags = [...new Set(inventory.flavors.flatMap((f) => f.TAG))].join(' ');
  const quiet = new Logger({ sink: { write: () => undefined } });
  const lines = githubOutputLines(computeMatrices(inventory, { CI_TAGS: allTags }, quiet));
  const result = new Map<string, Map<string, string[]>>();
  for (const line of lines) {
    const [name, json] = line.split(/=(.*)/s, 2);
    const fields = new Map<string, string[]>();
    for (const item of JSON.parse(json) as Record<string, unknown>[]) {
      for (const [key, value] of Object.entries(item)) {
        const values = fields.get(key) ?? [];
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        if (!values.includes(text)) values.push(text);
        fields.set(key, values);
      }
    }
    result.set(name, fields);
  }
  return result;
}
