/** Runs the real ./hook launcher as a user would (a child process per case). */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@hook/process';
import { SOURCE_KERNEL, makeWorkspace } from '@hook/inventory/testing';

jest.setTimeout(60000);

const root = join(__dirname, '../../..');
const hook = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(join(root, 'hook'), args, { cwd: root, env: { ...env, GITHUB_ACTIONS: '', CI_TAGS: env.CI_TAGS ?? '' }, allowFailure: true, timeoutMs: 60000 });

describe('hook CLI (integration)', () => {
  it('gha-matrix prints bootable_json and appends the four lines to GITHUB_OUTPUT', async () => {
    const output = join(mkdtempSync(join(tmpdir(), 'hook-gha-')), 'out');
    const result = await hook(['gha-matrix'], { GITHUB_OUTPUT: output });
    expect(result.exitCode).toBe(0);
    const lines = readFileSync(output, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => l.split('=')[0])).toEqual(['kernels_json', 'lk_hooks_json', 'lkcontainers_json', 'bootable_json']);
    expect(result.stdout).toBe(lines[3].slice('bootable_json='.length));
    expect(JSON.parse(lines[0].slice('kernels_json='.length)).map((k: { kernel: string }) => k.kernel)).toContain('hook-default-amd64');
  });

  it('gha-matrix follows CI_TAGS and CI_RUNNER_* like upstream', async () => {
    const output = join(mkdtempSync(join(tmpdir(), 'hook-gha-')), 'out');
    const result = await hook(['gha-matrix'], { GITHUB_OUTPUT: output, CI_TAGS: 'lts', CI_RUNNER_LK_ARM64: 'arm-big', CI_RUNNERS_SELF_HOSTED_TAG: 'pool' });
    expect(result.exitCode).toBe(0);
    const doc = (name: string) => JSON.parse(readFileSync(output, 'utf8').split('\n').find((l) => l.startsWith(`${name}=`))!.slice(name.length + 1));
    expect(doc('lk_hooks_json').map((i: { kernel: string; runner: string[] }) => [i.kernel, i.runner])).toEqual([
      ['hook-latest-lts-amd64', ['ubuntu-latest']],
      ['hook-latest-lts-arm64', ['pool', 'arm-big']],
    ]);
    expect(doc('bootable_json').map((b: { board_id: string }) => b.board_id)).toEqual(['grub-latest-lts-amd64-generic', 'grub-latest-lts-arm64-generic']);
  });

  it.each([
    [['build', 'no-such-flavor'], /Unknown flavor 'no-such-flavor'; valid ones are: /, 1],
    [['frobnicate'], /Unknown command: 'frobnicate'; valid commands are: /, 1],
    [['build', '1BAD=x'], /Invalid command line parameter '1BAD=x'/, 8],
    [['build', 'hook-default-amd64', 'DO_PUSH=maybe'], /DO_PUSH is 'maybe'; use yes or no/, 1],
  ])('%j exits non-zero with one readable line and no stack trace', async (args, message, exitCode) => {
    const result = await hook(args);
    expect(result.exitCode).toBe(exitCode);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  // Through the real bundle: bootable-media loads @hook/bootable/cli (the handlers' OCI and
  // Docker libraries must stay out of the bundle: esbuild cannot bundle their native modules).
  it.each([
    [['bootable-media', 'grub-debian-amd65'], {}, /Unknown bootable 'grub-debian-amd65' \(did you mean grub-debian-amd64\?\)/],
    [['bootable-media', 'uboot-rk'], { BOARD: 'rock5b' }, /Unknown board 'rock5b' for bootable uboot-rk; its boards are: cm3588-nas nanopct6 odroidm1 quartz64a rockpro64/],
    [['bootable-media', 'grub-debian-amd64'], { CARD_DEVICE: '/etc/hostname' }, /CARD_DEVICE \/etc\/hostname is a regular file, not a block device/],
    [['bootable-media', 'grub-debian-amd64'], { WORKER_ID: 'a b' }, /WORKER_ID is 'a b': a kernel command line value cannot hold spaces/],
  ] as [string[], NodeJS.ProcessEnv, RegExp][])('%j %j exits 1 with one readable line before Nx runs', async (args, env, message) => {
    const result = await hook(args, env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).not.toContain('nx run');
  });

  it('a flavor.yaml with a typo is one line naming the file, line and key', async () => {
    const workspace = makeWorkspace({
      'kernel/k/kernel.yaml': SOURCE_KERNEL,
      'flavors/k/flavor.yaml': 'ARCH: x86_64\nTAG: [standard]\nFORCE_OUTPUT: x\n',
    });
    const result = await hook(['gha-matrix'], { HOOK_WORKSPACE_ROOT: workspace });
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringContaining("flavors/k/flavor.yaml:3: unknown key 'FORCE_OUTPUT' (did you mean FORCE_OUTPUT_ID?)"),
    ]);
  });
});
