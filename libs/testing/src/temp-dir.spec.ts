import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from './temp-dir';

describe('useTempDir, one folder per test', () => {
  const dir = useTempDir('hook-temp-dir-each-');
  const seen: string[] = [];
  afterAll(() => {
    // Each test had its own folder, and none is left.
    expect(new Set(seen).size).toBe(2);
    for (const path of seen) expect(existsSync(path)).toBe(false);
  });

  it('is an empty folder, made before the test', async () => {
    seen.push(dir.path);
    expect(existsSync(dir.path)).toBe(true);
    await writeFile(join(dir.path, 'a'), 'a');
  });
  it('is another folder in the next test', () => {
    seen.push(dir.path);
    expect(existsSync(join(dir.path, 'a'))).toBe(false);
  });
});

describe('useTempDir, one folder for the block', () => {
  const dir = useTempDir('hook-temp-dir-all-', 'all');
  let first = '';
  it('is made once', async () => {
    first = dir.path;
    await writeFile(join(dir.path, 'kept'), '');
  });
  it('and kept between the tests', () => {
    expect(dir.path).toBe(first);
    expect(existsSync(join(dir.path, 'kept'))).toBe(true);
  });
});

describe('useTempDir outside a test', () => {
  const dir = useTempDir('hook-temp-dir-outside-');
  it('says where the folder exists instead of giving undefined', () => {
    expect(dir.path).toContain('hook-temp-dir-outside-');
  });
  const outside = (() => {
    try {
      return dir.path;
    } catch (error) {
      return (error as Error).message;
    }
  })();
  it('(read while the block was collected)', () => {
    expect(outside).toBe('the temporary folder hook-temp-dir-outside-* exists only inside the tests and hooks of the block that made it');
  });
});
