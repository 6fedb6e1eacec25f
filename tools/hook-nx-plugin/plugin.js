'use strict';
// What nx.json loads as the Hook plugin: src/index.ts (createNodes, createDependencies) bundled by
// esbuild (tools/bundle-on-demand.js). Nx loads a plugin for every command; given TypeScript, it
// first registers a transpiler (TypeScript itself to read tsconfig.base.json, then swc and
// tsconfig-paths for each module), about half a second of every `nx run` on 2 cores. The
// executors stay TypeScript: Nx loads them only to run a task.
const { bundleOnDemand } = require('../bundle-on-demand');

const bundle = bundleOnDemand({
  name: 'hook-nx-plugin',
  entry: 'tools/hook-nx-plugin/src/index.ts',
  launcher: __filename,
  outFile: 'index.js',
  // Nx's own modules: the plugin must use the instance of Nx that loads it.
  external: ['@nx/devkit', 'nx'],
});
module.exports = { name: '@hook/nx-plugin', ...require(bundle) };
