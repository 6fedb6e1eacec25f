/**
 * The real Nx on a clone of this repository: the project list, the graph edges and
 * `nx show projects --affected` after changing one image folder or one defconfig, the task
 * hashes Nx computes before running (test/task-hash.js) after changing the Debian base recipe
 * or a library (and of a bootable target after a TINK_* or libs/bootable change), and what
 * `nx show project` says about every target.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@hook/process';
import { SETTINGS, settingNames, type HashKind } from '@hook/settings';

jest.setTimeout(300000);

const root = join(__dirname, '../../../..');
let clone: string;
const env = { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_SKIP_NX_CACHE: 'true' };
const nx = async (args: string[]) => (await run(join(root, 'node_modules/.bin/nx'), args, { cwd: clone, env })).stdout;
const git = (args: string[]) => run('git', args, { cwd: clone });

const hashOf = async (task: string) => (await run(process.execPath, [join(__dirname, '../../test/task-hash.js'), task], { cwd: clone, env })).stdout.trim();

async function commitChange(file: string, line = '# changed by a test') {
  appendFileSync(join(clone, file), `\n${line}\n`);
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
      expect.arrayContaining(['hook-default-amd64', 'peg-default-amd64', 'armbian-genio-edge', 'kernel-hook-default-amd64', 'kernel-armbian-uefi-x86-edge', 'hook-docker', 'debian-base']),
    );
    expect(projects).not.toContain('kernel-peg-default-amd64');
  });

  it('has flavor -> kernel and flavor -> image edges', async () => {
    await nx(['graph', `--file=${join(clone, 'graph.json')}`]);
    const graph = JSON.parse(readFileSync(join(clone, 'graph.json'), 'utf8')).graph;
    const targets = (p: string) => graph.dependencies[p].map((d: { target: string }) => d.target).sort();
    // Its kernel and images (read from flavor.yaml and the template), and the library its build runs.
    expect(targets('peg-default-amd64')).toEqual(['ca-certificates', 'dhcp', 'getty', 'hook-init', 'hook-runc', 'hookos', 'kernel-hook-default-amd64', 'sshd']);
    const edge = (source: string, target: string) => graph.dependencies[source].find((d: { target: string }) => d.target === target)?.type;
    expect([edge('peg-default-amd64', 'sshd'), edge('peg-default-amd64', 'hookos'), edge('kernel-hook-default-amd64', 'debian-base')]).toEqual(['static', 'implicit', 'static']);
    expect(targets('hook-default-arm64')).toEqual(expect.arrayContaining(['kernel-hook-default-arm64', 'hook-docker']));
  });

  it('follows a change in one image folder to that image and the flavors using it, nothing else', async () => {
    // sshd is in peg's template and in the debug fragment every flavor may add (HOOK_DEBUG_SSH).
    const sshd = await commitChange('images/sshd/Dockerfile');
    expect(sshd).toEqual(expect.arrayContaining(['sshd', 'peg-default-amd64', 'hook-default-amd64', 'hook-debian-amd64']));
    expect(sshd.filter((p) => p.startsWith('kernel-') || ['hook-docker', 'getty', 'dhcp', 'debian-base'].includes(p))).toEqual([]);
    const dockerfile = await commitChange('images/hook-docker/Dockerfile');
    expect(dockerfile).toContain('hook-docker');
    expect(dockerfile).toContain('hook-default-amd64');
    expect(dockerfile).not.toContain('peg-default-amd64');
    // Besides the flavors: the tests that boot hook-debian-amd64 or run the image's scripts.
    expect(dockerfile.filter((p) => !p.startsWith('hook-') && !p.startsWith('armbian-')).sort()).toEqual(['boot-test', 'remote-cache', 'worker']);
  });

  it('runs the worker, boot and CLI tests after a change to what they boot: bootkit.sh alone, or the initramfs writer', async () => {
    const workerTests = await hashOf('worker:test');
    const bootkit = await commitChange('images/hook-docker/bootkit.sh');
    expect(await hashOf('worker:test')).not.toBe(workerTests);
    expect(bootkit).toEqual(expect.arrayContaining(['hook-docker', 'hook-debian-amd64', 'worker', 'boot-test', 'hook-cli']));
    const writer = await commitChange('libs/initramfs/src/writer.ts', '// changed by a test');
    expect(writer).toEqual(expect.arrayContaining(['initramfs', 'hookos', 'hook-debian-amd64', 'boot-test', 'hook-cli']));
    // The worker's tests run the image's scripts in the engine, not an initramfs.
    expect(writer).not.toContain('worker');
  });

  it('follows a defconfig change to its kernel and the flavors booting it, and to the hash of the kernel tests that read it', async () => {
    const before = await hashOf('kernel:test');
    const affected = await commitChange('kernel/configs/generic-6.12.y-aarch64');
    expect(affected).toEqual(expect.arrayContaining(['hook-default-arm64', 'kernel-hook-default-arm64']));
    // Only arm64 kernels on that series and their flavors: nothing amd64, no image. The kernel
    // library's tests read kernel/ through a runtime input (a file input would make every kernel
    // project affected through their edge to the library), so their cached result is not reused.
    expect(affected.filter((p) => !p.endsWith('-arm64'))).toEqual([]);
    expect(await hashOf('kernel:test')).not.toBe(before);
  });

  it('puts the opt-in test variables in the hash of the tests', async () => {
    const hashWith = async (task: string, extra: NodeJS.ProcessEnv) =>
      (await run(process.execPath, [join(__dirname, '../../test/task-hash.js'), task], { cwd: clone, env: { ...env, ...extra } })).stdout.trim();
    const plain = await hashOf('kernel:test');
    for (const name of ['HOOK_TEST_DEFAULT_KERNEL', 'HOOK_TEST_CROSS_ARM64', 'LINUXKIT_BIN']) expect([name, await hashWith('kernel:test', { [name]: 'yes' })]).not.toEqual([name, plain]);
  });

  it('puts the Debian base recipe in the hash of a kernel compiled in the builder image, not of a prebuilt one', async () => {
    const compiled = 'kernel-test-tiny-amd64:build';
    const prebuilt = 'kernel-hook-debian-amd64:build';
    const before = { compiled: await hashOf(compiled), prebuilt: await hashOf(prebuilt) };
    const affected = await commitChange('images/debian-base/image.yaml');
    expect(await hashOf(compiled)).not.toBe(before.compiled);
    expect(await hashOf(prebuilt)).toBe(before.prebuilt);
    expect(affected).toEqual(expect.arrayContaining(['debian-base', 'kernel-test-tiny-amd64', 'kernel-hook-default-amd64', 'hook-docker']));
    expect(affected).not.toContain('kernel-hook-debian-amd64');
    expect(affected).not.toContain('kernel-armbian-uefi-x86-edge');
  });

  it('re-runs flavor builds, not kernel or image builds, after a change to libs/iso', async () => {
    const tasks = ['kernel-test-tiny-amd64:build', 'hook-docker:build-amd64', 'hook-debian-amd64:build'];
    const before = await Promise.all(tasks.map(hashOf));
    const affected = await commitChange('libs/iso/src/placeholder.ts', '// changed by a test');
    const after = await Promise.all(tasks.map(hashOf));
    expect(after[0]).toBe(before[0]);
    expect(after[1]).toBe(before[1]);
    expect(after[2]).not.toBe(before[2]);
    expect(affected).toEqual(expect.arrayContaining(['iso', 'hookos', 'hook-debian-amd64', 'hook-default-amd64']));
    expect(affected.filter((p) => p.startsWith('kernel-'))).toEqual([]);
    expect(affected).not.toContain('hook-docker');
  });

  it('re-runs a bootable target, not the flavor build, after a TINK_* change or a change to libs/bootable; CARD_DEVICE is no input', async () => {
    const hashWith = async (task: string, extra: NodeJS.ProcessEnv) =>
      (await run(process.execPath, [join(__dirname, '../../test/task-hash.js'), task], { cwd: clone, env: { ...env, ...extra } })).stdout.trim();
    const media = 'hook-debian-amd64:bootable-grub-debian-amd64';
    const before = await Promise.all([hashOf(media), hashOf('hook-debian-amd64:build')]);
    expect(await hashWith(media, { TINK_SERVER: '10.0.0.1' })).not.toBe(before[0]);
    expect(await hashWith(media, { CARD_DEVICE: '/dev/sdz' })).toBe(before[0]);
    const affected = await commitChange('libs/bootable/src/cmdline.ts', '// changed by a test');
    const after = await Promise.all([hashOf(media), hashOf('hook-debian-amd64:build')]);
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).toBe(before[1]);
    expect(affected).toEqual(expect.arrayContaining(['bootable', 'hook-debian-amd64', 'hook-debian-arm64']));
  });

  it("puts each setting in the hash of exactly the targets the registry names (USE_LATEST_BUILT_KERNEL: a compiled kernel's, not a Debian one's)", async () => {
    // One task of each kind, with the hash kinds that apply to it.
    const tasks: Record<string, HashKind[]> = {
      'hook-debian-amd64:build': ['flavor'],
      'hook-debian-amd64:iso': ['flavor', 'iso'],
      'kernel-hook-default-amd64:build': ['kernel', 'kernel:default'],
      'kernel-hook-debian-amd64:build': ['kernel', 'kernel:debian'],
      'kernel-armbian-meson64-edge:build': ['kernel', 'kernel:armbian'],
      'hook-docker:build-amd64': ['image'],
      'hook-debian-amd64:bootable-grub-debian-amd64': ['bootable', 'bootable:grub'],
      'armbian-bcm2711-current:bootable-rpi': ['bootable', 'bootable:rpi_firmware'],
      'armbian-meson64-edge:bootable-uboot-aml': ['bootable', 'bootable:armbian_uboot_amlogic'],
      'kernel:test': ['test'],
    };
    const variants = Object.fromEntries([['(none)', {}], ...settingNames().map((name) => [name, { [name]: 'changed-by-a-test' }])]);
    const wrong: string[] = [];
    for (const [task, kinds] of Object.entries(tasks)) {
      const out = await run(process.execPath, [join(__dirname, '../../test/task-hash.js'), task, JSON.stringify(variants)], { cwd: clone, env });
      const hashes = JSON.parse(out.stdout) as Record<string, string>;
      for (const name of settingNames()) {
        const expected = SETTINGS[name].hashes.some((h) => kinds.includes(h));
        if ((hashes[name] !== hashes['(none)']) !== expected) wrong.push(`${task}: ${name} ${expected ? 'is not' : 'is'} in the hash`);
      }
      if (task === 'kernel-hook-default-amd64:build') expect(hashes.USE_LATEST_BUILT_KERNEL).not.toBe(hashes['(none)']);
      if (task === 'kernel-hook-debian-amd64:build') expect(hashes.USE_LATEST_BUILT_KERNEL).toBe(hashes['(none)']);
    }
    expect(wrong).toEqual([]);
  });

  it('describes every target of a flavor and of an image (nx show project)', async () => {
    for (const name of ['hook-default-amd64', 'hook-docker', 'kernel-hook-default-amd64', 'debian-base']) {
      const project = JSON.parse(await nx(['show', 'project', name, '--json']));
      expect(Object.keys(project.targets).length).toBeGreaterThan(1);
      for (const [target, config] of Object.entries(project.targets as Record<string, { metadata?: { description?: string } }>)) {
        expect([name, target, config.metadata?.description]).toEqual([name, target, expect.stringMatching(/^[A-Z].{20,}/)]);
      }
    }
    const image = JSON.parse(await nx(['show', 'project', 'hook-docker', '--json']));
    expect(image.tags).toEqual(expect.arrayContaining(['hook:image', 'arch:amd64', 'arch:arm64']));
    expect(image.projectType).toBe('application');
  });
});
