/**
 * A clean clone of a workspace's HEAD for the shared-build test and benchmark. Its node_modules
 * holds links to the workspace's packages (same lock file) instead of running npm ci, which saves
 * minutes; links that point into the workspace (npm workspaces, e.g. @hook/nx-plugin) are copied
 * as they are, so they resolve inside the clone.
 */
import { lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '@hook/process';

/** Clones `workspace` at HEAD, or at `commit` (so two clones made minutes apart build the same inputs). */
export async function cloneWorkspace(workspace: string, dir: string, commit?: string): Promise<string> {
  await run('git', ['clone', '--quiet', '--no-hardlinks', workspace, dir], { timeoutMs: 300_000 });
  if (commit) await run('git', ['-C', dir, 'checkout', '--quiet', '--detach', commit]);
  await linkNodeModules(join(workspace, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

async function linkNodeModules(from: string, to: string): Promise<void> {
  await mkdir(to);
  for (const entry of await readdir(from)) {
    const source = join(from, entry);
    const info = await lstat(source);
    if (info.isSymbolicLink()) await symlink(await readlink(source), join(to, entry));
    else if (entry.startsWith('@') && info.isDirectory()) await linkNodeModules(source, join(to, entry));
    else await symlink(source, join(to, entry));
  }
}

/** The commit a clone is at. */
export async function headCommit(dir: string): Promise<string> {
  return (await run('git', ['-C', dir, 'rev-parse', 'HEAD'])).stdout.trim();
}
