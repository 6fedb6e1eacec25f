'use strict';
// What executors.json names: each executor (src/executors/<name>/executor.ts) bundled by esbuild
// on first use (tools/bundle-on-demand.js), so a task's process loads one JavaScript file instead
// of registering a TypeScript transpiler and compiling every module its libraries import (about
// two seconds of every task here, most of a change-to-HookOS loop). `<file>#<name>` in
// executors.json picks the property; the bundle is built only when Nx asks for it.
const { bundleOnDemand } = require('../bundle-on-demand');
const { executors } = require('./executors.json');

// Stack traces (DEBUG=yes) point at the TypeScript sources, as the hook launcher's do.
if (process.env.DEBUG === 'yes') process.setSourceMapsEnabled(true);

for (const name of Object.keys(executors)) {
  Object.defineProperty(module.exports, name, {
    enumerable: true,
    get() {
      const bundle = bundleOnDemand({
        name: 'hook-nx-plugin',
        entry: `tools/hook-nx-plugin/src/executors/${name}/executor.ts`,
        launcher: __filename,
        outFile: `executor-${name}.js`,
        // Nx's own modules (the instance that runs the task); execa is ESM-only; dockerode and the
        // CycloneDX library load optional native or XML modules: these come from node_modules.
        external: ['@nx/devkit', 'nx', 'execa', 'dockerode', '@cyclonedx/cyclonedx-library'],
      });
      return require(bundle).default;
    },
  });
}
