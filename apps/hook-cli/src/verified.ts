/**
 * `hook build` checks a flavor's files against its SHA256SUMS after every build, also a cache hit,
 * since Nx restores its cache unchecked: about 200 MB of sha256 for hook-debian-amd64. A file that
 * passed keeps its sha256 here with its size, mtime, ctime and inode; while it stats the same it is
 * the file that passed (any write changes ctime, also one that restores the mtime), and is not read
 * again. A file Nx restored from its cache is a new file and is checked.
 */
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { verifySha256Sums } from '@hook/layout';

interface Memo {
  [path: string]: { stat: string; sha256: string };
}

function statOf(path: string): string | undefined {
  try {
    const s = lstatSync(path, { bigint: true });
    return s.isFile() ? `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}` : undefined;
  } catch {
    return undefined;
  }
}

/** The files a SHA256SUMS file lists, with their recorded sha256; undefined when it cannot be read as such. */
function listed(sumsFile: string): { path: string; sha256: string }[] | undefined {
  let text: string;
  try {
    text = readFileSync(sumsFile, 'utf8');
  } catch {
    return undefined;
  }
  const entries = [];
  for (const line of text.split('\n').filter(Boolean)) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!match) return undefined;
    entries.push({ path: join(dirname(sumsFile), match[2]), sha256: match[1] });
  }
  return entries;
}

function readMemo(file: string): Memo {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Memo;
  } catch {
    return {};
  }
}

/**
 * verifySha256Sums, skipping it when every listed file (and the sums file) stats as when it last
 * passed with the same sha256. `memoFile` keeps what passed.
 */
export async function verifySha256SumsOnce(workspaceRoot: string, sumsFile: string, target: string, memoFile: string): Promise<'checked' | 'unchanged'> {
  const memo = readMemo(memoFile);
  const before = listed(sumsFile);
  const sumsStat = statOf(sumsFile);
  const unchanged =
    before !== undefined &&
    sumsStat !== undefined &&
    memo[sumsFile]?.stat === sumsStat &&
    before.every(({ path, sha256 }) => {
      const now = statOf(path);
      return now !== undefined && memo[path]?.stat === now && memo[path].sha256 === sha256;
    });
  if (unchanged) return 'unchanged';
  const stats = new Map([sumsFile, ...(before ?? []).map((e) => e.path)].map((path) => [path, statOf(path)]));
  await verifySha256Sums(workspaceRoot, sumsFile, target);
  // Only what stats the same after the check as before it is known to be what was checked.
  const next: Memo = {};
  for (const [path, entry] of Object.entries(memo)) if (statOf(path) === entry.stat) next[path] = entry;
  for (const { path, sha256 } of [{ path: sumsFile, sha256: '' }, ...(before ?? [])]) {
    const stat = stats.get(path);
    if (stat !== undefined && statOf(path) === stat) next[path] = { stat, sha256 };
  }
  try {
    mkdirSync(dirname(memoFile), { recursive: true });
    writeFileSync(`${memoFile}.${process.pid}.tmp`, JSON.stringify(next));
    renameSync(`${memoFile}.${process.pid}.tmp`, memoFile);
  } catch {
    // Without the memo the next build checks again.
  }
  return 'checked';
}
