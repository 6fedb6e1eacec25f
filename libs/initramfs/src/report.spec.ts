import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FsEntry } from './entry';
import { sizeReport, TMPFS_RISK_BYTES } from './report';
import { writeInitramfs, type InitramfsResult } from './writer';

const MiB = 1 << 20;
function file(path: string, data: Buffer, origin: string, mode = 0o755): FsEntry {
  return { path, type: 'file', mode, uid: 0, gid: 0, mtime: 0, size: data.length, content: () => data, origin };
}

describe('sizeReport', () => {
  let work: string;
  let result: InitramfsResult;
  const runcV1 = Buffer.alloc(2 * MiB, 1);
  const runcV2 = Buffer.alloc(2 * MiB, 2);
  const containerd = Buffer.alloc(3 * MiB, 3);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'initramfs-report-'));
    // Uncompressed output: this runs no external program.
    result = await writeInitramfs(
      [
        file('usr/bin/runc', runcV1, 'init'),
        file('usr/bin/containerd', containerd, 'containerd'),
        file('containers/services/docker/lower/usr/bin/runc', runcV2, 'docker'),
        file('containers/services/docker/lower/usr/bin/containerd', containerd, 'docker'),
        file('containers/onboot/000-tool/lower/usr/bin/containerd', containerd, 'tool', 0o700),
        file('etc/hostname', Buffer.from('hook\n'), 'init', 0o644),
      ],
      { output: join(work, 'initramfs.cpio'), compression: 'none', env: {} },
    );
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('summarizes sizes and de-duplication in one line', () => {
    const { summary } = sizeReport(result);
    expect(summary).toMatch(/^initramfs initramfs\.cpio: 10\.0 MiB \(not compressed; 10\.0 MiB uncompressed, 20 entries\); de-duplication saved 3\.0 MiB$/);
  });

  it('lists the largest directories with linked data counted once', () => {
    const { markdown } = sizeReport(result, { topN: 3 });
    const section = markdown.split('### Largest directories')[1].split('###')[0];
    const rows = section.split('\n').filter((line) => line.startsWith('| `'));
    // docker's containerd is a hard link to /usr/bin/containerd: it counts in both trees, but once in each.
    expect(rows).toEqual(['| `/containers` | 8.0 MiB | 3 |', '| `/containers/services` | 5.0 MiB | 2 |', '| `/containers/services/docker` | 5.0 MiB | 2 |']);
    expect(result.sizes.directories.find((d) => d.path === '/usr/bin')).toMatchObject({ bytes: 5 * MiB, files: 2 });
  });

  it('points out large files present under the same name in several places', () => {
    const { markdown } = sizeReport(result);
    expect(markdown).toContain(
      '| `containerd` | `/containers/onboot/000-tool/lower/usr/bin/containerd` (3.0 MiB)<br>`/containers/services/docker/lower/usr/bin/containerd` (3.0 MiB)<br>`/usr/bin/containerd` (3.0 MiB) | 6.0 MiB | identical, stored 2 times (mode or owner differ, or de-duplication off) |',
    );
    expect(markdown).toContain('| `runc` | `/containers/services/docker/lower/usr/bin/runc` (2.0 MiB)<br>`/usr/bin/runc` (2.0 MiB) | 4.0 MiB | 2 different contents |');
  });

  it('charges shared content to the first image that brought it', () => {
    const { markdown } = sizeReport(result);
    // Parent directories count for the image whose entry created them.
    const rows = markdown.split('### Per image')[1].split('\n').filter((line) => line.startsWith('| `'));
    expect(rows).toEqual([
      '| `containerd` | 1 | 3.0 MiB | 3.0 MiB |',
      '| `tool` | 6 | 3.0 MiB | 3.0 MiB |',
      '| `init` | 5 | 2.0 MiB | 2.0 MiB |',
      '| `docker` | 8 | 5.0 MiB | 2.0 MiB |',
    ]);
  });

  it('warns above 900 MiB uncompressed, where 2 GB machines may not boot', () => {
    expect(sizeReport(result).markdown).not.toContain('Warning');
    expect(sizeReport({ ...result, uncompressedSize: TMPFS_RISK_BYTES }).summary).not.toContain('WARNING');
    const big = sizeReport({ ...result, uncompressedSize: TMPFS_RISK_BYTES + 1 });
    expect(big.summary).toContain('WARNING: uncompressed size 900.0 MiB is above 900 MiB');
    expect(big.markdown).toContain('> **Warning:** uncompressed size 900.0 MiB is above 900 MiB: the root is copied to a tmpfs of half the RAM, so it may not boot on 2 GB machines.');
  });

  it('tells build-host files of the same name apart without hashing them when their sizes differ', async () => {
    // A unique size is never hashed (same-size.ts): the verdict must still say the contents differ.
    const entries: FsEntry[] = [];
    for (const [path, size] of [['a/bin/tool', 2 * MiB], ['b/bin/tool', 2 * MiB + 1]] as const) {
      const sourcePath = join(work, path.replace(/\//g, '-'));
      await writeFile(sourcePath, Buffer.alloc(size, 9));
      entries.push({ path, type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 0, size, sourcePath });
    }
    const sourced = await writeInitramfs(entries, { output: join(work, 'sourced.cpio'), compression: 'none', env: {} });
    expect(sourced.sizes.largeFiles.map((f) => f.sha256)).toEqual([undefined, undefined]);
    expect(sizeReport(sourced).markdown).toContain('| `tool` | `/b/bin/tool` (2.0 MiB)<br>`/a/bin/tool` (2.0 MiB) | 4.0 MiB | 2 different contents |');
  });
});
