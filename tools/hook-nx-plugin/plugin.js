'use strict';
// What nx.json loads as the Hook plugin: src/index.ts (createNodes, createDependencies) bundled by
// esbuild into one CommonJS file, rebuilt whenever one of its inputs changed. Nx loads a plugin for
// every command; given TypeScript, it first registers a transpiler (TypeScript itself to read
// tsconfig.base.json, then swc and tsconfig-paths for each module), about half a second of every
// `nx run` on 2 cores. The executors stay TypeScript: Nx loads them only to run a task.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const outDir = path.join(root, 'node_modules', '.cache', 'hook-nx-plugin');
const bundle = path.join(outDir, 'index.js');
const manifest = path.join(outDir, 'inputs.json');

/** The bundle exists and no input (source file, this launcher) changed since it was built. */
function isFresh() {
  try {
    const inputs = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    if (!(path.relative(root, __filename) in inputs)) return false;
    for (const [file, mtimeMs] of Object.entries(inputs)) {
      if (fs.statSync(path.join(root, file)).mtimeMs !== mtimeMs) return false;
    }
    return fs.existsSync(bundle);
  } catch {
    return false;
  }
}

function build() {
  const esbuild = require('esbuild');
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = `${bundle}.${process.pid}.tmp`;
  const result = esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: ['tools/hook-nx-plugin/src/index.ts'],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: tmp,
    metafile: true,
    sourcemap: 'external',
    tsconfig: 'tsconfig.base.json',
    // Nx's own modules: the plugin must use the instance of Nx that loads it.
    external: ['@nx/devkit', 'nx'],
    logLevel: 'error',
  });
  const inputs = { [path.relative(root, __filename)]: fs.statSync(__filename).mtimeMs };
  for (const file of Object.keys(result.metafile.inputs)) {
    inputs[file] = fs.statSync(path.join(root, file)).mtimeMs;
  }
  fs.renameSync(`${tmp}.map`, `${bundle}.map`);
  fs.renameSync(tmp, bundle);
  fs.writeFileSync(`${manifest}.${process.pid}.tmp`, JSON.stringify(inputs));
  fs.renameSync(`${manifest}.${process.pid}.tmp`, manifest);
}

if (!isFresh()) build();
module.exports = { name: '@hook/nx-plugin', ...require(bundle) };
