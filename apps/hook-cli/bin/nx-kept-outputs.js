'use strict';
// Loaded by `hook` into the Nx process it starts (`node -r <this file> nx.js run ...`).
//
// With the daemon off, Nx copies every cache hit's outputs from .nx/cache back into dist/, even
// when the files there are already the ones the cache holds: only the daemon can tell (it hashes
// the outputs it watches). For hook-debian-amd64 that is about 700 MB (kernel, images, initramfs,
// tarball) on every build that changes nothing. This gives Nx's task orchestrator the answer the
// daemon gives, from a record kept in Nx's workspace data folder: after a task succeeded (ran, or
// was restored from the cache), the size, mtime, ctime and inode of every file of its outputs,
// under its task hash. On a cache hit whose outputs still stat the same, Nx keeps them ("existing
// outputs match the cache"); anything else (another hash, a file added, removed or touched, a
// glob output, no record) copies as before. ctime and the inode change with any write, also one
// that restores the mtime. `nx reset` removes the record with the rest of the workspace data.
//
// Nx's internals (TaskOrchestrator's shouldCopyOutputsFromCacheBatch and postRunSteps, Nx 22.7):
// when they are not there, this does nothing and Nx copies as it always does.
const fs = require('node:fs');
const path = require('node:path');

const RECORD_FILE = 'hook-kept-outputs.json';

/** `path -> size:mtime:ctime:ino` for every file and link under the outputs; undefined if one is a glob. */
function fingerprint(root, outputs) {
  const files = {};
  const visit = (relative) => {
    let stat;
    try {
      stat = fs.lstatSync(path.join(root, relative), { bigint: true });
    } catch {
      files[relative] = 'missing';
      return;
    }
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(path.join(root, relative)).sort()) visit(path.posix.join(relative, name));
      return;
    }
    files[relative] = `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.ino}`;
  };
  for (const output of outputs) {
    if (/[*?[\]{}!]/.test(output) || path.isAbsolute(output) || output.split(/[\\/]/).includes('..')) return undefined;
    visit(output);
  }
  return files;
}

function sameFiles(a, b) {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

function readRecord(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

/** Keyed by the outputs (one entry per task, not per hash): the hash they hold and their stats. */
function keyOf(outputs) {
  return [...outputs].sort().join('\n');
}

/** Whether each task's outputs on disk are the ones recorded for its hash (Map hash -> keep). */
function keptOutputs(root, recordFile, tasks) {
  const record = readRecord(recordFile);
  const kept = new Map();
  for (const { hash, outputs } of tasks) {
    const entry = record[keyOf(outputs)];
    const now = entry && entry.hash === hash ? fingerprint(root, outputs) : undefined;
    kept.set(hash, Boolean(now && sameFiles(now, entry.files)));
  }
  return kept;
}

/** Records the outputs of tasks that succeeded (ran or restored). */
function recordOutputs(root, recordFile, tasks) {
  if (tasks.length === 0) return;
  const record = readRecord(recordFile);
  for (const { hash, outputs } of tasks) {
    const files = fingerprint(root, outputs);
    if (files) record[keyOf(outputs)] = { hash, files };
    else delete record[keyOf(outputs)];
  }
  fs.mkdirSync(path.dirname(recordFile), { recursive: true });
  const tmp = `${recordFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(record));
  fs.renameSync(tmp, recordFile);
}

const SUCCEEDED = new Set(['success', 'local-cache', 'remote-cache']);

/** Patches the TaskOrchestrator of the Nx installed at nxDir; false when Nx is not the expected one. */
function install(nxDir, root) {
  let TaskOrchestrator;
  let workspaceDataDirectory;
  try {
    ({ TaskOrchestrator } = require(path.join(nxDir, 'dist/src/tasks-runner/task-orchestrator.js')));
    ({ workspaceDataDirectory } = require(path.join(nxDir, 'dist/src/utils/cache-directory.js')));
  } catch {
    return false;
  }
  const proto = TaskOrchestrator && TaskOrchestrator.prototype;
  if (!proto || typeof proto.shouldCopyOutputsFromCacheBatch !== 'function' || typeof proto.postRunSteps !== 'function' || !workspaceDataDirectory) return false;
  const recordFile = path.join(workspaceDataDirectory, RECORD_FILE);
  const shouldCopy = proto.shouldCopyOutputsFromCacheBatch;
  proto.shouldCopyOutputsFromCacheBatch = async function (tasks) {
    if (this.daemon && this.daemon.enabled()) return shouldCopy.call(this, tasks);
    const kept = keptOutputs(root, recordFile, tasks);
    return new Map(tasks.map(({ hash }) => [hash, !kept.get(hash)]));
  };
  const postRunSteps = proto.postRunSteps;
  proto.postRunSteps = async function (results, ...rest) {
    const value = await postRunSteps.call(this, results, ...rest);
    if (!(this.daemon && this.daemon.enabled()) && !this.stopRequested) {
      try {
        recordOutputs(root, recordFile, results.filter(({ task, status }) => SUCCEEDED.has(status) && task.outputs.length > 0).map(({ task }) => ({ hash: task.hash, outputs: task.outputs })));
      } catch {
        // No record: the next cache hit copies, as without this file.
      }
    }
    return value;
  };
  return true;
}

module.exports = { fingerprint, keptOutputs, recordOutputs, install, RECORD_FILE };

// Preloaded into Nx (its entry script <nx>/dist/bin/nx.js is the main script): patch that Nx.
const main = process.argv[1] ? fs.realpathSync(process.argv[1]) : '';
if (path.basename(main) === 'nx.js' && path.basename(path.dirname(main)) === 'bin') {
  install(path.resolve(path.dirname(main), '../..'), process.cwd());
}
