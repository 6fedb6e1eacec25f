#!/usr/bin/env node
'use strict';
// Launcher for the `hook` CLI. Runs a bundled build of apps/hook-cli (so `hook gha-matrix`
// starts in a fraction of a second, without a TypeScript loader or Nx) and rebuilds the
// bundle with esbuild whenever one of its source files changed.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../../..');
const outDir = path.join(root, 'node_modules', '.cache', 'hook-cli');
const bundle = path.join(outDir, 'hook.js');
const manifest = path.join(outDir, 'inputs.json');

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
    entryPoints: ['apps/hook-cli/src/cli.ts'],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: tmp,
    metafile: true,
    sourcemap: 'external',
    tsconfig: 'tsconfig.base.json',
    // execa is ESM-only and needed only by commands that spawn programs, dockerode (and its ssh2)
    // only by hook clean: load them lazily from node_modules.
    external: ['execa', 'dockerode'],
    logLevel: 'error',
  });
  // The launcher itself is an input too: its build options shape the bundle.
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
// Stack traces (DEBUG=yes) point at the TypeScript sources.
if (process.env.DEBUG === 'yes') process.setSourceMapsEnabled(true);
process.env.HOOK_WORKSPACE_ROOT = process.env.HOOK_WORKSPACE_ROOT || root;
require(bundle);
