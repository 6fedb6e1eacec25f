/**
 * Size budgets in a whole flavor build: the size report shows every figure against its budget,
 * an image over budget warns, and with HOOK_SIZE_BUDGET=enforce (CI) the build fails with one
 * line and writes nothing.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FLAVOR_TEMPLATE as TEMPLATE, flavorWorkspace } from '../test/flavor-workspace';
import { buildFlavor } from './build-flavor';
import { parseSize } from './size-budget';

jest.setTimeout(120000);

const images = [
  { name: 'hook-init', ref: 'example.test/hook/hook-init:11111111-amd64', layers: [[{ name: 'init', mode: 0o755, content: '#!/bin/sh\n' }]], config: { Cmd: ['/init'] } },
  // The fixture image: 64 KiB of content, pushed over its 1 KiB budget.
  { name: 'svc', ref: 'example.test/hook/svc:22222222-amd64', layers: [[{ name: 'usr/bin/svc', mode: 0o755, content: 'x'.repeat(65536) }]], config: { Cmd: ['/usr/bin/svc'] } },
];

const budgets = (svc: string) => ({
  'flavors/k/size-budget.yaml': 'compressed: 100 MB\nunpacked: 300 MiB\n',
  'images/size-budgets.yaml': `svc: ${svc}\nhook-init: 1 MiB\n`,
});

describe('size budgets (integration)', () => {
  it('shows each figure against its budget in the size report, within budget', async () => {
    const root = await flavorWorkspace(TEMPLATE, images, budgets('1 MiB'));
    await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_SIZE_BUDGET: 'enforce' } });
    const report = readFileSync(join(root, 'dist/hook/size-report-x86_64.md'), 'utf8');
    expect(report).toContain('### Budgets');
    expect(report).toMatch(/\| kernel \+ initramfs \(compressed\) \| [^|]+ \| 95\.4 MiB \(100\.0 MB\) \| 0% \|/);
    expect(report).toMatch(/\| initramfs unpacked \(cpio\) \| [^|]+ \| 300\.0 MiB \(314\.6 MB\) \| \d+% \|/);
    expect(report).toMatch(/\| image svc \| [^|]+ \| 1\.0 MiB \(1\.0 MB\) \| \d+% \|/);
    expect(report).not.toContain('OVER');
  });

  it('warns and builds when an image is over budget', async () => {
    const root = await flavorWorkspace(TEMPLATE, images, budgets('1 KiB'));
    await buildFlavor({ workspaceRoot: root, flavorId: 'k', env: {} });
    expect(readFileSync(join(root, 'dist/hook/size-report-x86_64.md'), 'utf8')).toMatch(/\| image svc \| [^|]+ \| 1\.0 KiB \(0\.0 MB\) \| \d+% \*\*OVER\*\* \|/);
  });

  it('fails with one line and writes nothing when CI enforces the budget', async () => {
    const root = await flavorWorkspace(TEMPLATE, images, budgets('1 KiB'));
    await expect(buildFlavor({ workspaceRoot: root, flavorId: 'k', env: { HOOK_SIZE_BUDGET: 'enforce' } })).rejects.toThrow(
      expect.objectContaining({ name: 'UserError', message: expect.stringMatching(/^k is over its size budget: image svc \S+ KiB > 1\.0 KiB \(reduce it, or raise the budget in flavors\/k\/size-budget\.yaml or images\/size-budgets\.yaml\)$/) }),
    );
    // The staging directory inside dist/hook is gone again: no file of the flavor was written.
    expect(existsSync(join(root, 'dist/hook')) ? readdirSync(join(root, 'dist/hook')) : []).toEqual([]);
  });

  it('names a mistake in a budget file before building', async () => {
    const root = await flavorWorkspace(TEMPLATE, images, { 'flavors/k/size-budget.yaml': 'compresed: 100 MB\n' });
    await expect(buildFlavor({ workspaceRoot: root, flavorId: 'k', env: {} })).rejects.toThrow("flavors/k/size-budget.yaml: unknown key 'compresed'; the keys are compressed and unpacked");
    const bad = await flavorWorkspace(TEMPLATE, images, { 'images/size-budgets.yaml': 'svc: 10 parsecs\n' });
    await expect(buildFlavor({ workspaceRoot: bad, flavorId: 'k', env: {} })).rejects.toThrow("images/size-budgets.yaml: svc: '10 parsecs' is not a size");
    expect(existsSync(join(bad, 'dist/hook'))).toBe(false);
  });
});

describe('parseSize', () => {
  it('reads SI and IEC units and plain bytes', () => {
    expect(parseSize('100 MB', 'x')).toBe(100_000_000);
    expect(parseSize('300 MiB', 'x')).toBe(314_572_800);
    expect(parseSize('1.5 GiB', 'x')).toBe(1_610_612_736);
    expect(parseSize(4096, 'x')).toBe(4096);
    expect(() => parseSize('-1 MB', 'x')).toThrow(/is not a size/);
  });
});
