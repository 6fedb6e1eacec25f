/**
 * The cached targets hash the plugin and the libraries their executor runs (nx.json named
 * inputs hookKernelTooling, hookImageTooling, hookFlavorTooling, hookBootableTooling). A library missing from a
 * list would give stale cache hits; an extra one re-runs targets for nothing (a change to
 * libs/iso must not rebuild a 43-minute kernel). This checks the lists against the imports.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TOOLING_INPUTS } from './nodes';

const root = join(__dirname, '../../../..');
const pluginSrc = join(root, 'tools/hook-nx-plugin/src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !file.includes('/testing/'));
}

function hookImports(files: string[]): string[] {
  const names = new Set<string>();
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(/from '@hook\/([a-z-]+)'/g)) names.add(match[1]);
  }
  names.delete('nx-plugin');
  return [...names];
}

/** The libraries an executor runs: its @hook imports, and theirs. */
function librariesOf(executors: string[]): string[] {
  const seen = new Set<string>();
  const queue = hookImports(executors.flatMap((name) => sourceFiles(join(pluginSrc, 'executors', name))).concat(join(pluginSrc, 'executors/run.ts')));
  while (queue.length > 0) {
    const lib = queue.pop()!;
    if (seen.has(lib)) continue;
    seen.add(lib);
    const dir = join(root, 'libs', lib, 'src');
    if (existsSync(dir)) queue.push(...hookImports(sourceFiles(dir)));
  }
  return [...seen].sort();
}

function librariesInNamedInput(name: string): string[] {
  const nxJson = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8'));
  return (nxJson.namedInputs[name] as unknown[])
    .filter((i): i is string => typeof i === 'string')
    .map((i) => /^\{workspaceRoot\}\/libs\/([a-z-]+)\/src\/\*\*\/\*$/.exec(i)?.[1])
    .filter((lib): lib is string => lib !== undefined)
    .sort();
}

describe('the tooling inputs of cached targets', () => {
  it.each([
    ['kernel', TOOLING_INPUTS.kernel, ['kernel-build', 'armbian-fetch']],
    ['image', TOOLING_INPUTS.image, ['container-build']],
    ['flavor', TOOLING_INPUTS.flavor, ['linuxkit-build']],
    ['bootable', TOOLING_INPUTS.bootable, ['bootable-media']],
  ])('%s targets hash exactly the libraries their executors run', (_kind, input, executors) => {
    expect(librariesInNamedInput(input)).toEqual(librariesOf(executors));
  });

  it('hashes every file of those libraries (the LinuxKit schema is JSON, the image build copies assets/)', () => {
    const nxJson = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8'));
    expect(nxJson.namedInputs[TOOLING_INPUTS.flavor]).toContain('{workspaceRoot}/libs/linuxkit/src/**/*');
    expect(nxJson.namedInputs[TOOLING_INPUTS.image]).toContain('{workspaceRoot}/libs/containers/assets/**/*');
  });

  it('keeps the ISO library out of kernel and image builds', () => {
    expect(librariesInNamedInput(TOOLING_INPUTS.kernel)).not.toContain('iso');
    expect(librariesInNamedInput(TOOLING_INPUTS.image)).not.toContain('iso');
  });
});
