/**
 * The real Nx on a clone of this repository: the project list, the graph edges and
 * `nx show projects --affected` after changing one image folder or one defconfig.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@hook/process';

jest.setTimeout(300000);

const root = join(__dirname, '../../../..');
let clone: string;
const env = { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_SKIP_NX_CACHE: 'true' };
const nx = async (args: string[]) => (await run(join(root, 'node_modules/.bin/nx'), args, { cwd: clone, env })).stdout;
const git = (args: string[]) => run('git', args, { cwd: clone });

async function commitChange(file: string) {
  appendFileSync(join(clone, file), '\n# changed by a test\n');
  await git(['commit', '-q', '-am', `change ${file}`]);
  return JSON.parse(await nx(['show', 'projects', '--affected', '--base=HEAD~1', '--head=HEAD', '--json'])) as string[];
}

beforeAll(async () => {
  clone = mkdtempSync(join(tmpdir(), 'hook-graph-'));
  await run('git', ['clone', '-q', root, clone]);
  symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'));
  await git(['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'base']);
  await git(['config', 'user.email', 't@t']);
  await git(['config', 'user.name', 't']);
});

afterAll(() => rmSync(clone, { recursive: true, force: true }));

describe('the Nx graph of this repository (integration)', () => {
  it('lists every flavor, kernel and image project', async () => {
    const projects = JSON.parse(await nx(['show', 'projects', '--json'])) as string[];
    expect(projects).toEqual(
      expect.arrayContaining(['hook-default-amd64', 'peg-default-amd64', 'armbian-genio-edge', 'kernel-hook-default-amd64', 'kernel-armbian-uefi-x86-edge', 'hook-bootkit', 'debian-base']),
    );
    expect(projects).not.toContain('kernel-peg-default-amd64');
  });

  it('has flavor -> kernel and flavor -> image edges', async () => {
    await nx(['graph', `--file=${join(clone, 'graph.json')}`]);
    const graph = JSON.parse(readFileSync(join(clone, 'graph.json'), 'utf8')).graph;
    const targets = (p: string) => graph.dependencies[p].map((d: { target: string }) => d.target).sort();
    expect(targets('peg-default-amd64')).toEqual(['ca-certificates', 'dhcp', 'getty', 'hook-init', 'hook-runc', 'kernel-hook-default-amd64', 'sshd']);
    expect(targets('hook-default-arm64')).toEqual(expect.arrayContaining(['kernel-hook-default-arm64', 'hook-bootkit', 'hook-docker']));
  });

  it('follows a change in one image folder to that image and the flavors using it, nothing else', async () => {
    expect((await commitChange('images/sshd/Dockerfile')).sort()).toEqual(['peg-default-amd64', 'sshd']);
    const bootkit = await commitChange('images/hook-bootkit/Dockerfile');
    expect(bootkit).toContain('hook-bootkit');
    expect(bootkit).toContain('hook-default-amd64');
    expect(bootkit).not.toContain('peg-default-amd64');
    expect(bootkit.filter((p) => !p.startsWith('hook-') && !p.startsWith('armbian-'))).toEqual([]);
  });

  it('follows a defconfig change to its kernel and the flavors booting it', async () => {
    const affected = await commitChange('kernel/configs/generic-6.12.y-aarch64');
    expect(affected).toEqual(expect.arrayContaining(['hook-default-arm64', 'kernel-hook-default-arm64']));
    // Only arm64 kernels on that series and their flavors: nothing amd64, no image.
    expect(affected.filter((p) => !p.endsWith('-arm64'))).toEqual([]);
  });
});
