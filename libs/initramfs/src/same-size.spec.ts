import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import type { FsEntry } from './entry';
import { groupRecords, planArchive } from './plan';
import { SameSizeHashing } from './same-size';
import { ContentSpool } from './spool';
import { RootTree } from './tree';

describe('SameSizeHashing: build-host files are compared only when their sizes collide', () => {
  const dir = useTempDir('same-size-');
  let spool: ContentSpool;
  beforeEach(async () => {
    spool = await ContentSpool.create(dir.path);
  });
  afterEach(async () => {
    await spool.dispose();
  });

  async function addSource(tree: RootTree, path: string, content: string): Promise<void> {
    const sourcePath = join(dir.path, path.replace(/\//g, '_'));
    await writeFile(sourcePath, content);
    const entry: FsEntry = { path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, sourcePath };
    tree.add(entry, spool.storeSource(path, sourcePath));
  }

  it('hashes equal-size files (also against spooled content), links the identical ones, leaves unique sizes unread', async () => {
    const tree = new RootTree();
    await addSource(tree, 'a/tool', 'same content');
    await addSource(tree, 'b/tool', 'same content');
    await addSource(tree, 'c/tool', 'SAME CONTENT'); // same size, other bytes
    await addSource(tree, 'd/unique', 'a size nobody else has');
    tree.add({ path: 'e/spooled', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, await spool.store(Buffer.from('same content')));

    const hashing = new SameSizeHashing(tree);
    // Held back: every file of the shared size, the spooled one too (it may equal a build-host file).
    expect([...hashing.heldBack].length).toBe(4);
    const plan = planArchive(tree, true, hashing.heldBack);
    expect(plan.records.map((r) => r.path)).toEqual(['a', 'a/tool', 'b', 'b/tool', 'c', 'c/tool', 'd', 'd/unique', 'e', 'e/spooled']);
    const sameSize = plan.deferred.get(12)!;
    expect(sameSize.map((r) => r.path)).toEqual(['a/tool', 'b/tool', 'c/tool', 'e/spooled']);
    expect(sameSize.every((r) => r.group === undefined)).toBe(true);

    hashing.hash(sameSize.map((r) => r.node.file!));
    expect({ files: hashing.hashedFiles, bytes: hashing.hashedBytes }).toEqual({ files: 3, bytes: 36 }); // e was hashed when spooled
    expect(tree.lookup('d/unique')!.file!.sha256).toBeUndefined();

    groupRecords(plan, sameSize, true);
    const groupOf = (path: string) => plan.records.find((r) => r.path === path)!.group!;
    expect(groupOf('a/tool')).toBe(groupOf('b/tool'));
    expect(groupOf('a/tool')).toBe(groupOf('e/spooled'));
    expect(groupOf('a/tool').members).toBe(3);
    expect(groupOf('c/tool')).not.toBe(groupOf('a/tool'));
    expect(groupOf('d/unique').members).toBe(1);
  });
});
