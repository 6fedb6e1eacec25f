/**
 * A temporary folder for the tests of a describe block (or of a file, at its top level): made
 * before each test, or once before all of them, and removed after with everything in it.
 *
 *   const dir = useTempDir('hook-rpi-unit-');
 *   it('...', async () => { await writeFile(join(dir.path, 'config.txt'), ''); });
 *
 * Its hooks are registered where it is called, and Jest runs a block's hooks in that order: the
 * folder exists for the beforeEach hooks declared after the call (which may fill it), and it is
 * gone for the afterEach hooks declared after it (one that still reads it goes before the call).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  /** The folder; there is one only inside tests and the hooks of the block. */
  readonly path: string;
}

export function useTempDir(prefix: string, scope: 'each' | 'all' = 'each'): TempDir {
  let path: string | undefined;
  const [before, after] = scope === 'each' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    path = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    if (path) await rm(path, { recursive: true, force: true });
    path = undefined;
  });
  return {
    get path(): string {
      if (!path) throw new Error(`the temporary folder ${prefix}* exists only inside the tests and hooks of the block that made it`);
      return path;
    },
  };
}
