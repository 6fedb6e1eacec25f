/**
 * Nx loads the plugin's graph code (createNodes, createDependencies) for every command, even
 * `nx show projects`: it must stay light. Its transitive imports, followed through @hook/* (the
 * paths of tsconfig.base.json) and relative imports, reach none of the libraries that build things
 * (executors, which Nx loads only to run a task, may use them).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = join(__dirname, '../../../..');
const HEAVY = ['@hook/bootable', '@hook/iso', '@hook/debian', '@hook/oci', '@hook/sbom', '@hook/kernel', '@hook/containers', '@hook/hookos', '@hook/qemu'];

const paths = (JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths;
/** tsconfig path of a library entry -> its import name (@hook/oci for libs/oci/src/index.ts). */
const libraryOf = new Map(Object.entries(paths).map(([name, [file]]) => [join(root, file), name]));

function resolveFile(base: string): string | undefined {
  return [`${base}.ts`, join(base, 'index.ts'), base].find((file) => existsSync(file) && file.endsWith('.ts'));
}

/** The modules a file loads at run time (not `import type`), resolved to files; packages are left out. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1]),
    ...[...text.matchAll(/\b(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]),
  ];
  return specifiers.flatMap((specifier) => {
    if (specifier.startsWith('.')) return resolveFile(join(dirname(file), specifier)) ?? [];
    const target = paths[specifier];
    return target ? [join(root, target[0])] : [];
  });
}

/** Every file reached from `entries`, with the file that first imported it. */
function walk(entries: string[]): Map<string, string | undefined> {
  const parent = new Map<string, string | undefined>(entries.map((entry) => [entry, undefined]));
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const next of importsOf(file)) {
      if (parent.has(next)) continue;
      parent.set(next, file);
      queue.push(next);
    }
  }
  return parent;
}

function chain(parent: Map<string, string | undefined>, file: string): string {
  const steps: string[] = [];
  for (let at: string | undefined = file; at !== undefined; at = parent.get(at)) {
    const library = libraryOf.get(at);
    steps.unshift(library ? `${library} (${relative(root, at)})` : relative(root, at));
  }
  return steps.join(' -> ');
}

const pluginDir = join(root, 'tools/hook-nx-plugin/src/plugins');
const graphCode = [
  join(root, 'tools/hook-nx-plugin/src/index.ts'),
  ...readdirSync(pluginDir)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.spec.ts'))
    .map((name) => join(pluginDir, name)),
];

describe("the plugin's graph code", () => {
  const reached = walk(graphCode);

  it('follows @hook/* and relative imports (it reaches @hook/inventory and @hook/layout through nodes.ts)', () => {
    expect(graphCode.map((file) => relative(root, file))).toEqual(expect.arrayContaining(['tools/hook-nx-plugin/src/plugins/nodes.ts', 'tools/hook-nx-plugin/src/plugins/dependencies.ts']));
    for (const name of ['@hook/inventory', '@hook/layout']) expect(reached.has(join(root, paths[name][0]))).toBe(true);
  });

  it('imports none of the libraries that build (bootable, iso, debian, oci, sbom, kernel, containers, hookos, qemu)', () => {
    const chains = HEAVY.map((name) => join(root, paths[name][0]))
      .filter((entry) => reached.has(entry))
      .map((entry) => chain(reached, entry));
    expect(chains).toEqual([]);
  });
});
