/**
 * What keeps a build that changes nothing cheap with the Nx daemon off: the outputs Nx keeps
 * instead of copying them from its cache (bin/nx-kept-outputs.js, preloaded into Nx), and the
 * SHA256SUMS check that does not hash files again that passed and did not change (verified.ts).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSha256Sums } from '@hook/layout';
import { verifySha256SumsOnce } from './verified';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const kept = require('../bin/nx-kept-outputs.js') as {
  keptOutputs(root: string, recordFile: string, tasks: { hash: string; outputs: string[] }[]): Map<string, boolean>;
  recordOutputs(root: string, recordFile: string, tasks: { hash: string; outputs: string[] }[]): void;
  install(nxDir: string, root: string): boolean;
};

function workspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'hook-noop-'));
  mkdirSync(join(root, 'dist/images/x/amd64/blobs'), { recursive: true });
  writeFileSync(join(root, 'dist/images/x/amd64/blobs/a'), 'layer');
  writeFileSync(join(root, 'dist/k'), 'kernel');
  return root;
}

describe('outputs Nx keeps instead of copying them from its cache (daemon off)', () => {
  it("patches this workspace's Nx (the TaskOrchestrator methods it replaces exist)", () => {
    expect(kept.install(join(__dirname, '../../../node_modules/nx'), workspace())).toBe(true);
    expect(kept.install('/nonexistent', workspace())).toBe(false);
  });

  it('keeps outputs recorded under the same hash that stat the same, and copies after any change', () => {
    const root = workspace();
    const record = join(root, '.nx/workspace-data/kept.json');
    const task = { hash: 'h1', outputs: ['dist/images/x/amd64', 'dist/k', 'dist/absent'] };
    expect(kept.keptOutputs(root, record, [task]).get('h1')).toBe(false);
    kept.recordOutputs(root, record, [task]);
    expect(kept.keptOutputs(root, record, [task]).get('h1')).toBe(true);
    expect(kept.keptOutputs(root, record, [{ ...task, hash: 'h2' }]).get('h2')).toBe(false);
    writeFileSync(join(root, 'dist/images/x/amd64/blobs/b'), 'another layer');
    expect(kept.keptOutputs(root, record, [task]).get('h1')).toBe(false);
    kept.recordOutputs(root, record, [task]);
    writeFileSync(join(root, 'dist/k'), 'kernel');
    expect(kept.keptOutputs(root, record, [task]).get('h1')).toBe(false);
    kept.recordOutputs(root, record, [task]);
    rmSync(join(root, 'dist/k'));
    expect(kept.keptOutputs(root, record, [task]).get('h1')).toBe(false);
  });

  it('never keeps glob outputs', () => {
    const root = workspace();
    const record = join(root, 'kept.json');
    const task = { hash: 'h', outputs: ['dist/images/*/amd64'] };
    kept.recordOutputs(root, record, [task]);
    expect(kept.keptOutputs(root, record, [task]).get('h')).toBe(false);
  });
});

describe('SHA256SUMS checked once per unchanged file', () => {
  it('hashes again only after a file changed, and still names a corrupted file', async () => {
    const root = workspace();
    const sums = join(root, 'dist/SHA256SUMS-x');
    await writeSha256Sums(sums, [join(root, 'dist/k')]);
    const memo = join(root, 'memo.json');
    expect(await verifySha256SumsOnce(root, sums, 'x:build', memo)).toBe('checked');
    expect(await verifySha256SumsOnce(root, sums, 'x:build', memo)).toBe('unchanged');
    writeFileSync(join(root, 'dist/k'), 'kernel');
    expect(await verifySha256SumsOnce(root, sums, 'x:build', memo)).toBe('checked');
    writeFileSync(join(root, 'dist/k'), 'kerneL');
    await expect(verifySha256SumsOnce(root, sums, 'x:build', memo)).rejects.toThrow('dist/k does not match the sha256 recorded in dist/SHA256SUMS-x');
    await expect(verifySha256SumsOnce(root, sums, 'x:build', memo)).rejects.toThrow('dist/k does not match');
  });
});
