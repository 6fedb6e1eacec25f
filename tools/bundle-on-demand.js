'use strict';
// One TypeScript entry bundled by esbuild into one CommonJS file under node_modules/.cache/<name>,
// rebuilt whenever one of its inputs changed (a source file, the launcher that asks, this file:
// their options shape the bundle). The `hook` CLI and the Nx plugin start this way, without a
// TypeScript loader: that costs about half a second of every command on 2 cores.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/**
 * The bundle's path, built first when missing or stale.
 * @param {{ name: string, entry: string, launcher: string, outFile: string, external: string[] }} options
 *   entry relative to the workspace root; launcher: the caller's __filename.
 */
function bundleOnDemand({ name, entry, launcher, outFile, external }) {
  const outDir = path.join(root, 'node_modules', '.cache', name);
  const bundle = path.join(outDir, outFile);
  const manifest = path.join(outDir, `${outFile}.inputs.json`);
  const own = [launcher, __filename].map((file) => path.relative(root, file));

  const isFresh = () => {
    try {
      const inputs = JSON.parse(fs.readFileSync(manifest, 'utf8'));
      if (!own.every((file) => file in inputs)) return false;
      for (const [file, mtimeMs] of Object.entries(inputs)) {
        if (fs.statSync(path.join(root, file)).mtimeMs !== mtimeMs) return false;
      }
      return fs.existsSync(bundle);
    } catch {
      return false;
    }
  };

  if (isFresh()) return bundle;
  const esbuild = require('esbuild');
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = `${bundle}.${process.pid}.tmp`;
  const result = esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: tmp,
    metafile: true,
    sourcemap: 'external',
    tsconfig: 'tsconfig.base.json',
    external,
    logLevel: 'error',
  });
  const inputs = {};
  for (const file of [...own, ...Object.keys(result.metafile.inputs)]) inputs[file] = fs.statSync(path.join(root, file)).mtimeMs;
  fs.renameSync(`${tmp}.map`, `${bundle}.map`);
  fs.renameSync(tmp, bundle);
  fs.writeFileSync(`${manifest}.${process.pid}.tmp`, JSON.stringify(inputs));
  fs.renameSync(`${manifest}.${process.pid}.tmp`, manifest);
  return bundle;
}

module.exports = { bundleOnDemand, root };
