import { UserError } from '@hook/log';
import type { FsEntry } from './entry';
import { RootTree, splitPath } from './tree';

const stored = (size = 1) => ({ sha256: 'x'.repeat(64), size, offset: 0 });
function entry(path: string, type: FsEntry['type'], extra: Partial<FsEntry> = {}): FsEntry {
  return { path, type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 0, ...extra };
}
function build(entries: FsEntry[]): RootTree {
  const tree = new RootTree();
  for (const e of entries) tree.add(e, e.type === 'file' ? stored() : undefined);
  return tree;
}
function paths(tree: RootTree): string[] {
  const out: string[] = [];
  const walk = (node: typeof tree.root, prefix: string) => {
    for (const child of node.children?.values() ?? []) {
      const p = prefix ? `${prefix}/${child.name}` : child.name;
      out.push(`${p}:${child.type}`);
      walk(child, p);
    }
  };
  walk(tree.root, '');
  return out.sort();
}

describe('splitPath', () => {
  it('accepts the spellings tar streams use', () => {
    expect(splitPath('./lib/modules/')).toEqual(['lib', 'modules']);
    expect(splitPath('/etc//hosts')).toEqual(['etc', 'hosts']);
    expect(splitPath('a/../../b')).toEqual(['b']);
    expect(splitPath('.')).toEqual([]);
  });
});

describe('RootTree', () => {
  it('keeps the last entry for a path', () => {
    const tree = build([entry('etc/hosts', 'file', { mode: 0o600 }), entry('etc/hosts', 'symlink', { linkTarget: '/run/hosts' })]);
    expect(tree.lookup('etc/hosts')).toMatchObject({ type: 'symlink', linkTarget: '/run/hosts' });
    expect(tree.counters.replaced).toBe(1);
  });

  it('updates a directory in place, keeping its children', () => {
    const tree = build([entry('opt/a', 'file'), entry('opt', 'directory', { mode: 0o700, uid: 5 })]);
    expect(tree.lookup('opt')).toMatchObject({ mode: 0o700, uid: 5, implicit: false });
    expect(tree.counters.replaced).toBe(0); // 'opt' was only a parent so far
    expect(paths(tree)).toEqual(['opt/a:file', 'opt:directory']);
  });

  it('drops the children of a directory replaced by a file', () => {
    const tree = build([entry('opt/a/b', 'file'), entry('opt/a', 'file')]);
    expect(paths(tree)).toEqual(['opt/a:file', 'opt:directory']);
  });

  it('creates missing parents as 0755 root directories', () => {
    const tree = build([entry('a/b/c', 'file', { uid: 7 })]);
    expect(tree.lookup('a/b')).toMatchObject({ type: 'directory', mode: 0o755, uid: 0, gid: 0, implicit: true });
  });

  it('replaces a non-directory that stands where a later entry needs a directory', () => {
    const tree = build([entry('a', 'file'), entry('a/b', 'file')]);
    expect(paths(tree)).toEqual(['a/b:file', 'a:directory']);
  });

  it('follows intermediate symlinks, relative and absolute, inside the tree', () => {
    const tree = build([
      entry('usr/lib', 'directory'),
      entry('lib', 'symlink', { linkTarget: 'usr/lib' }),
      entry('lib64', 'symlink', { linkTarget: '/lib' }),
      entry('lib/modules/6.12/x.ko', 'file'),
      entry('lib64/ld.so', 'file'),
    ]);
    expect(paths(tree)).toEqual([
      'lib64:symlink',
      'lib:symlink',
      'usr/lib/ld.so:file',
      'usr/lib/modules/6.12/x.ko:file',
      'usr/lib/modules/6.12:directory',
      'usr/lib/modules:directory',
      'usr/lib:directory',
      'usr:directory',
    ]);
  });

  it('keeps a symlink to a directory when a directory entry names it (merged /usr)', () => {
    const tree = build([entry('usr/lib', 'directory'), entry('lib', 'symlink', { linkTarget: 'usr/lib' }), entry('lib', 'directory')]);
    expect(tree.lookup('lib')?.type).toBe('symlink');
    expect(tree.counters.keptDirectorySymlinks).toBe(1);
  });

  it('replaces a dangling symlink with a directory entry', () => {
    const tree = build([entry('lib', 'symlink', { linkTarget: 'nowhere' }), entry('lib', 'directory')]);
    expect(tree.lookup('lib')?.type).toBe('directory');
  });

  it('refuses a path through a symlink that leads nowhere, naming the entry', () => {
    expect(() => build([entry('lib', 'symlink', { linkTarget: 'nowhere' }), entry('lib/x', 'file')])).toThrow(
      new UserError(`initramfs entry 'lib/x': 'lib' is a symlink to 'nowhere', which is not a directory in the image; fix the image so the path leads to a directory`),
    );
  });

  it('survives symlink loops', () => {
    expect(() => build([entry('a', 'symlink', { linkTarget: 'b' }), entry('b', 'symlink', { linkTarget: 'a' }), entry('a/x', 'file')])).toThrow(UserError);
  });

  it('gives a hard link the inode of its target as it was at that point', () => {
    const tree = new RootTree();
    tree.add(entry('bin/a', 'file', { mode: 0o4755 }), { sha256: 'a'.repeat(64), size: 3, offset: 0 });
    tree.add(entry('bin/b', 'hardlink', { linkTarget: 'bin/a', mode: 0o644 }));
    tree.add(entry('bin/a', 'file'), { sha256: 'c'.repeat(64), size: 9, offset: 3 });
    const b = tree.lookup('bin/b')!;
    expect(b.file).toMatchObject({ sha256: 'a'.repeat(64), mode: 0o4755 });
    expect(tree.lookup('bin/a')!.file!.sha256).toBe('c'.repeat(64));
  });

  it('refuses hard links to missing paths and to directories', () => {
    expect(() => build([entry('x', 'hardlink', { linkTarget: 'missing' })])).toThrow(/hard link to 'missing', which does not exist/);
    expect(() => build([entry('d', 'directory'), entry('x', 'hardlink', { linkTarget: 'd' })])).toThrow(/directories cannot be hard-linked/);
  });

  it('refuses names the kernel cannot create', () => {
    expect(() => build([entry(`a/${'n'.repeat(256)}`, 'file')])).toThrow(/longer than 255 bytes/);
    expect(() => build([entry(`${'d/'.repeat(2048)}f`, 'file')])).toThrow(/longer than the kernel's limit/);
    expect(() => build([entry('dev/sda', 'block')])).toThrow(/without valid major\/minor/);
    expect(() => build([entry('x', 'socket' as FsEntry['type'])])).toThrow(/unsupported type 'socket'/);
  });

  it('ignores an entry for the root itself', () => {
    const tree = build([entry('./', 'directory', { mode: 0o700 })]);
    expect(tree.root.mode).toBe(0o755);
    expect(tree.counters.ignored).toBe(1);
  });
});
