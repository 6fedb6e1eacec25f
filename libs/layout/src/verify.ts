/**
 * What a task takes from dist/ is checked against the digests written beside it at build time:
 * a kernel's files against kernel.json, HookOS's files against its SHA256SUMS file. Nx restores
 * cached outputs without checking them, so a corrupted cache entry shows here, as one line that
 * names the file and how to recover, never as a silent pass.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '@hook/log';
import { inWorkspace, kernelDir } from './dist';
import type { KernelMetadata } from './metadata';

export async function sha256OfPath(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** A file in dist/ that does not match its recorded digest (one line with the way out). */
export class CorruptOutputError extends UserError {}

function corrupt(workspaceRoot: string, path: string, recordedIn: string, target: string): CorruptOutputError {
  const file = relative(workspaceRoot, path);
  return new CorruptOutputError(
    `${file} does not match the sha256 recorded in ${relative(workspaceRoot, recordedIn)} (a corrupted cache entry or a changed file): run npx nx run ${target} --skip-nx-cache to rebuild it, or remove that entry from Nx's cache (npx nx reset)`,
  );
}

/** Checks every file kernel.json lists; a mismatch or a missing file is a CorruptOutputError. */
export async function verifyKernelFiles(workspaceRoot: string, kernel: KernelMetadata): Promise<void> {
  const dir = inWorkspace(workspaceRoot, kernelDir(kernel.id));
  const recordedIn = join(dir, 'kernel.json');
  for (const [name, recorded] of Object.entries(kernel.files ?? {})) {
    const path = join(dir, name);
    const size = await stat(path).then((s) => s.size, () => -1);
    if (size !== recorded.size || (await sha256OfPath(path)) !== recorded.sha256) throw corrupt(workspaceRoot, path, recordedIn, `kernel-${kernel.id}:build`);
  }
}

/** `sha256sum` format: `<hex>  <name>` per line, names relative to the file's folder. */
export function sha256SumsText(entries: { name: string; sha256: string }[]): string {
  return entries.map((e) => `${e.sha256}  ${e.name}\n`).join('');
}

/** Writes SHA256SUMS-style `sumsFile` for `files` (paths; named relative to the sums file's folder). */
export async function writeSha256Sums(sumsFile: string, files: string[]): Promise<void> {
  const entries = [];
  for (const file of files) entries.push({ name: relative(dirname(sumsFile), file), sha256: await sha256OfPath(file) });
  await writeFile(sumsFile, sha256SumsText(entries));
}

/**
 * Checks the files a SHA256SUMS-style file lists (paths relative to its folder); `target` is the
 * Nx target that rebuilds them. Returns the files checked.
 */
export async function verifySha256Sums(workspaceRoot: string, sumsFile: string, target: string): Promise<string[]> {
  const text = await readFile(sumsFile, 'utf8').catch(() => {
    throw new UserError(`${relative(workspaceRoot, sumsFile)} is missing, so ${basename(sumsFile)}'s files cannot be checked: run npx nx run ${target} --skip-nx-cache`);
  });
  const checked: string[] = [];
  for (const line of text.split('\n').filter(Boolean)) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!match) throw new UserError(`${relative(workspaceRoot, sumsFile)}: '${line}' is not a '<sha256>  <file>' line: run npx nx run ${target} --skip-nx-cache`);
    const path = join(dirname(sumsFile), match[2]);
    const actual = await sha256OfPath(path).catch(() => undefined);
    if (actual !== match[1]) throw corrupt(workspaceRoot, path, sumsFile, target);
    checked.push(path);
  }
  return checked;
}

/**
 * Checks every blob of an OCI layout in dist/ against its name (its sha256), before a build
 * reads layers from it as streams; `target` rebuilds the layout. Returns the blobs checked.
 */
export async function verifyImageLayout(workspaceRoot: string, layoutDir: string, target: string): Promise<number> {
  const blobs = join(layoutDir, 'blobs', 'sha256');
  const names = await readdir(blobs).catch(() => [] as string[]);
  let checked = 0;
  for (const name of names) {
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    const path = join(blobs, name);
    if ((await sha256OfPath(path)) !== name) {
      throw new CorruptOutputError(
        `${relative(workspaceRoot, path)} does not match its sha256 (a corrupted cache entry or a changed file): run npx nx run ${target} --skip-nx-cache to rebuild it, or remove that entry from Nx's cache (npx nx reset)`,
      );
    }
    checked++;
  }
  return checked;
}
