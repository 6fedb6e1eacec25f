import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { HOOK_ISO_CMDLINE_PLACEHOLDER, findPlaceholder, paddedCmdline, patchCmdline } from './placeholder';

describe('ISO command line placeholder', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'hook-iso-placeholder-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("is upstream's 1024-character string", () => {
    expect(HOOK_ISO_CMDLINE_PLACEHOLDER).toHaveLength(1024);
    expect(HOOK_ISO_CMDLINE_PLACEHOLDER).toMatch(/^464vn90e7rbj08xbwdjejmdf4it17c5z[0-9a-z]+tcddamjrwt260b0w$/);
  });

  it('finds every occurrence, also across read-chunk borders (4 MiB)', async () => {
    const file = join(work, 'big.bin');
    const data = Buffer.alloc(9 * 1024 * 1024, 0x20);
    const offsets = [10, 4 * 1024 * 1024 - 500, 8 * 1024 * 1024 - 1, data.length - 1024];
    for (const at of offsets) data.write(HOOK_ISO_CMDLINE_PLACEHOLDER, at, 'utf8');
    await writeFile(file, data);
    expect(await findPlaceholder(file)).toEqual(offsets);
    expect(await findPlaceholder(file, 'not-in-there')).toEqual([]);
  });

  it('patches in place with a space-padded line of the same length, like Smee', async () => {
    const file = join(work, 'one.iso');
    const before = Buffer.concat([Buffer.from('linux /kernel '), Buffer.from(HOOK_ISO_CMDLINE_PLACEHOLDER), Buffer.from(' text\n')]);
    await writeFile(file, before);
    const cmdline = 'console=ttyS0 worker_id=aa:bb';
    await patchCmdline(file, HOOK_ISO_CMDLINE_PLACEHOLDER, cmdline);
    const after = await readFile(file, 'utf8');
    expect(after).toBe(`linux /kernel ${cmdline}${' '.repeat(1024 - cmdline.length)} text\n`);
    expect((await stat(file)).size).toBe(before.length);
    // Already patched: nothing left to patch.
    await expect(patchCmdline(file, HOOK_ISO_CMDLINE_PLACEHOLDER, 'x')).rejects.toThrow(/not in this ISO/);
  });

  it('refuses command lines that do not fit or span lines, and ambiguous ISOs', async () => {
    expect(() => paddedCmdline(HOOK_ISO_CMDLINE_PLACEHOLDER, 'a'.repeat(1025))).toThrow(UserError);
    expect(paddedCmdline(HOOK_ISO_CMDLINE_PLACEHOLDER, 'a'.repeat(1024))).toHaveLength(1024);
    expect(() => paddedCmdline(HOOK_ISO_CMDLINE_PLACEHOLDER, 'a\nb')).toThrow(/single line/);
    const twice = join(work, 'twice.iso');
    await writeFile(twice, HOOK_ISO_CMDLINE_PLACEHOLDER + HOOK_ISO_CMDLINE_PLACEHOLDER);
    await expect(patchCmdline(twice, HOOK_ISO_CMDLINE_PLACEHOLDER, 'x')).rejects.toThrow(/appears 2 times/);
  });
});
