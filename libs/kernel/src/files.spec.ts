import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishDir } from './files';

describe('publishDir', () => {
  it('publishes a 0755 folder, as Nx restores it from its cache (mkdtemp makes 0700)', async () => {
    const target = join(mkdtempSync(join(tmpdir(), 'hook-publish-')), 'kernels', 'k');
    await publishDir(target, async (dir) => writeFileSync(join(dir, 'kernel'), 'k'));
    expect(statSync(target).mode & 0o777).toBe(0o755);
  });
});
