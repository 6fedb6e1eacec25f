import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import { run } from '@hook/process';
import { hashDirectory, sha256sumLine } from './dir-hash';

const WORKSPACE = join(__dirname, '..', '..', '..');

/** Upstream's pipeline, run the way upstream runs it: from the root, on `images/<name>`. */
async function upstreamHash(root: string, dir: string): Promise<string> {
  const { stdout } = await run('sh', ['-c', 'find "$1" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum', 'hash', dir], { cwd: root });
  return stdout.split(' ')[0]!;
}

describe('hashDirectory', () => {
  const root = useTempDir('hook-dir-hash-');

  it('equals the shell pipeline on a folder with nested, oddly named and linked files', async () => {
    const dir = join(root.path, 'images', 'odd');
    await mkdir(join(dir, 'sub', 'deeper'), { recursive: true });
    await mkdir(join(dir, 'empty-dir'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
    await writeFile(join(dir, 'a file with spaces.txt'), 'spaces');
    await writeFile(join(dir, 'back\\slash'), 'backslash');
    await writeFile(join(dir, 'new\nline'), 'newline');
    await writeFile(join(dir, 'Upper'), '');
    await writeFile(join(dir, 'lower'), Buffer.from([0, 1, 2, 255]));
    await writeFile(join(dir, 'sub', 'x-y.z'), 'x');
    await writeFile(join(dir, 'sub', 'x.y'), 'y');
    await writeFile(join(dir, 'sub', 'deeper', 'ümlaut'), 'u');
    await writeFile(join(dir, 'big'), Buffer.alloc(5 * 1024 * 1024, 7));
    await symlink('Dockerfile', join(dir, 'link-to-file'));
    await symlink('sub', join(dir, 'link-to-dir'));
    expect(await hashDirectory(root.path, 'images/odd')).toBe(await upstreamHash(root.path, 'images/odd'));
  }, 20_000);

  it('equals the shell pipeline on an empty folder', async () => {
    await mkdir(join(root.path, 'images', 'empty'), { recursive: true });
    expect(await hashDirectory(root.path, 'images/empty')).toBe(await upstreamHash(root.path, 'images/empty'));
  });

  it("equals the shell pipeline on the repository's own image folders", async () => {
    for (const name of ['hook-docker', 'debian-base', 'hook-acpid']) {
      expect(await hashDirectory(WORKSPACE, `images/${name}`)).toBe(await upstreamHash(WORKSPACE, `images/${name}`));
    }
  });

  it('depends on how the folder is spelled, as upstream does (paths are in the lines)', async () => {
    await mkdir(join(root.path, 'images', 'x'), { recursive: true });
    await writeFile(join(root.path, 'images', 'x', 'f'), 'f');
    await mkdir(join(root.path, 'other', 'images', 'x'), { recursive: true });
    await writeFile(join(root.path, 'other', 'images', 'x', 'f'), 'f');
    expect(await hashDirectory(join(root.path, 'other'), 'images/x')).toBe(await hashDirectory(root.path, 'images/x'));
    expect(await hashDirectory(root.path, 'other/images/x')).not.toBe(await hashDirectory(root.path, 'images/x'));
    expect(await hashDirectory(root.path, 'images/x/')).toBe(await hashDirectory(root.path, 'images/x'));
  });

  it('names a missing folder', async () => {
    await expect(hashDirectory(root.path, 'images/nope')).rejects.toThrow(/images\/nope is not a directory/);
  });
});

describe('sha256sumLine', () => {
  it('escapes like GNU sha256sum', () => {
    expect(sha256sumLine('ab', 'images/x/f')).toBe('ab  images/x/f\n');
    expect(sha256sumLine('ab', 'a\\b\nc')).toBe('\\ab  a\\\\b\\nc\n');
  });
});
