#!/usr/bin/env node
'use strict';
// Launcher for the `hook` CLI. Runs a bundled build of apps/hook-cli (so `hook gha-matrix`
// starts in a fraction of a second, without a TypeScript loader or Nx) and rebuilds the
// bundle with esbuild whenever one of its source files changed.
const { bundleOnDemand, root } = require('../../../tools/bundle-on-demand');

const bundle = bundleOnDemand({
  name: 'hook-cli',
  entry: 'apps/hook-cli/src/cli.ts',
  launcher: __filename,
  outFile: 'hook.js',
  // execa is ESM-only and needed only by commands that spawn programs, dockerode (and its ssh2)
  // only by hook clean: load them lazily from node_modules.
  external: ['execa', 'dockerode'],
});
// Stack traces (DEBUG=yes) point at the TypeScript sources.
if (process.env.DEBUG === 'yes') process.setSourceMapsEnabled(true);
process.env.HOOK_WORKSPACE_ROOT = process.env.HOOK_WORKSPACE_ROOT || root;
require(bundle);
