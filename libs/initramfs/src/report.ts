/**
 * The size report upstream Hook printed after building the initramfs, as Markdown (for a
 * file or a GitHub job summary) and as one summary line for the log.
 */
import { basename } from 'node:path';
import { formatBytes } from '@hook/log';
import type { LargeFile } from './size-data';
import type { InitramfsResult } from './writer';

/**
 * Upstream's limit: the root is copied into a tmpfs capped at half of RAM, so past 900 MiB
 * uncompressed an image may not boot on a 2 GB machine.
 */
export const TMPFS_RISK_BYTES = 943718400;

export interface SizeReportOptions {
  /** Rows per table (default 15). */
  topN?: number;
}

export interface SizeReport {
  markdown: string;
  summary: string;
}

export function sizeReport(result: InitramfsResult, options: SizeReportOptions = {}): SizeReport {
  const topN = options.topN ?? 15;
  const name = basename(result.output);
  const method = result.compression === 'none' ? 'not compressed' : `${result.compression} -${result.level}${result.longWindow ? ` --long=${result.longWindow}` : ''}`;
  const tooBig = result.uncompressedSize > TMPFS_RISK_BYTES;
  const warning = `uncompressed size ${formatBytes(result.uncompressedSize)} is above 900 MiB: the root is copied to a tmpfs of half the RAM, so it may not boot on 2 GB machines`;
  const saved = result.dedupe.enabled ? `de-duplication saved ${formatBytes(result.dedupe.savedBytes)}` : 'de-duplication off';

  const summary =
    `initramfs ${name}: ${formatBytes(result.compressedSize)} (${method}; ${formatBytes(result.uncompressedSize)} uncompressed, ` +
    `${count(result.entries.archived)} entries); ${saved}` +
    (tooBig ? `; WARNING: ${warning}` : '');

  const e = result.entries;
  const lines: string[] = [
    `## Initramfs size: ${name}`,
    '',
    '| | |',
    '|---|---|',
    `| Compressed (${method}) | ${formatBytes(result.compressedSize)} (${count(result.compressedSize)} bytes) |`,
    `| Uncompressed cpio | ${formatBytes(result.uncompressedSize)} (${count(result.uncompressedSize)} bytes) |`,
    `| Entries | ${count(e.archived)}: ${count(e.files)} files, ${count(e.directories)} directories, ${count(e.symlinks)} symlinks, ${count(e.devices)} devices, ${count(e.fifos)} fifos |`,
    `| Input entries | ${count(e.input)} (${count(e.replaced)} replaced by a later entry for the same path) |`,
    result.dedupe.enabled
      ? `| De-duplication | saved ${formatBytes(result.dedupe.savedBytes)}: ${count(result.dedupe.linkedByContent)} identical files stored as hard links (${count(result.dedupe.groups)} link groups) |`
      : '| De-duplication | off |',
    `| sha256 | \`${result.sha256}\` |`,
    '',
  ];
  if (tooBig) lines.push(`> **Warning:** ${warning}.`, '');

  lines.push(`### Largest directories`, '', '| Directory | Size | Files |', '|---|---:|---:|');
  for (const dir of result.sizes.directories.slice(0, topN)) {
    lines.push(`| ${cell(dir.path)} | ${formatBytes(dir.bytes)} | ${count(dir.files)} |`);
  }
  lines.push('');

  const repeated = repeatedLargeFiles(result.sizes.largeFiles).slice(0, topN);
  lines.push('### Large files under several names', '');
  if (repeated.length === 0) {
    lines.push('None: no file of 1 MiB or more appears under the same name in several places.', '');
  } else {
    lines.push('| Name | Places | Stored | Content |', '|---|---|---:|---|');
    for (const group of repeated) {
      const places = group.files.map((f) => `${cell(f.path)} (${formatBytes(f.size)})`).join('<br>');
      lines.push(`| ${cell(group.name)} | ${places} | ${formatBytes(group.storedBytes)} | ${group.verdict} |`);
    }
    lines.push('');
  }

  const origins = result.sizes.origins;
  if (origins.length > 1 || (origins.length === 1 && origins[0].origin !== '(no origin)')) {
    lines.push(
      '### Per image',
      '',
      'Stored: content this image added; content it shares with an image listed earlier in the input is charged to that one.',
      '',
      '| Image | Entries | Files size | Stored |',
      '|---|---:|---:|---:|',
    );
    for (const origin of origins.slice(0, topN)) {
      lines.push(`| ${cell(origin.origin)} | ${count(origin.entries)} | ${formatBytes(origin.apparentBytes)} | ${formatBytes(origin.storedBytes)} |`);
    }
    lines.push('');
  }
  return { markdown: lines.join('\n'), summary };
}

interface RepeatedName {
  name: string;
  files: LargeFile[];
  storedBytes: number;
  verdict: string;
}

/** Large files grouped by base name, where the name appears in more than one place. */
function repeatedLargeFiles(files: LargeFile[]): RepeatedName[] {
  const byName = new Map<string, LargeFile[]>();
  for (const file of files) {
    const name = basename(file.path);
    byName.set(name, [...(byName.get(name) ?? []), file]);
  }
  const repeated: RepeatedName[] = [];
  for (const [name, group] of byName) {
    if (group.length < 2) continue;
    const stored = new Map<number, number>();
    for (const file of group) stored.set(file.storageId, file.size);
    // Files without a hash have a size of their own, so the size tells their content apart.
    const contents = new Set(group.map((f) => f.sha256 ?? `size ${f.size}`)).size;
    let verdict: string;
    if (contents > 1) verdict = `${contents} different contents`;
    else if (stored.size === 1) verdict = 'identical, stored once (hard links)';
    else verdict = `identical, stored ${stored.size} times (mode or owner differ, or de-duplication off)`;
    repeated.push({ name, files: group, storedBytes: [...stored.values()].reduce((a, b) => a + b, 0), verdict });
  }
  return repeated.sort((a, b) => b.storedBytes - a.storedBytes || (a.name < b.name ? -1 : 1));
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

function cell(text: string): string {
  return `\`${text.replace(/\|/g, '\\|').replace(/`/g, "'")}\``;
}
