/** Runs the real ./hook launcher as a user would (a child process per case). */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
    [['bootable-media', 'grub-debian-amd64'], { WORKER_ID: 'a b' }, /WORKER_ID is 'a b'; use letters, digits and .* \(a kernel command line value: no spaces or shell characters\)/],
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

  describe('hardware', () => {
    const index = {
      release: '6.12.1',
      modules: {
        qed: { path: 'kernel/drivers/net/ethernet/qlogic/qed/qed.ko.xz', class: 'network', size: 1000, kept: true, depends: [], firmware: [{ file: 'qed/qed_init_values_zipped-8.59.1.0.bin', present: true }] },
        qede: { path: 'kernel/drivers/net/ethernet/qlogic/qede/qede.ko.xz', class: 'network', size: 100, kept: true, depends: ['qed'] },
        tg3: { path: 'kernel/drivers/net/ethernet/broadcom/tg3.ko.xz', class: 'network', size: 100, kept: true, depends: [] },
      },
      ids: [
        ['pci:v00001077d00008070sv*sd*bc*sc*i*', 'qede'],
        ['pci:v000014E4d0000165Fsv*sd*bc*sc*i*', 'tg3'],
      ],
    };
    const workspace = () => makeWorkspace({ 'kernel/k/kernel.yaml': SOURCE_KERNEL, 'flavors/k/flavor.yaml': 'ARCH: x86_64\nTAG: [standard]\n' });

    it('answers for IDs and for pasted lspci -nn output from the built flavor, without Nx', async () => {
      const dir = workspace();
      const listed = await hook(['list', '--json'], { HOOK_WORKSPACE_ROOT: dir });
      const outputId = (JSON.parse(listed.stdout) as Array<{ id: string; outputId: string }>).find((f) => f.id === 'k')!.outputId;
      mkdirSync(join(dir, 'dist', 'hook'), { recursive: true });
      writeFileSync(join(dir, 'dist', 'hook', `hardware-${outputId}.json`), JSON.stringify(index));

      const byIds = await hook(['hardware', 'k', '1077:8070', 'dead:beef'], { HOOK_WORKSPACE_ROOT: dir });
      expect(byIds.exitCode).toBe(0);
      expect(byIds.stdout.trim().split('\n')).toEqual([
        '1077:8070: qede (network, kept); firmware present: qed/qed_init_values_zipped-8.59.1.0.bin (via qed)',
        'dead:beef: no module of k (kernel 6.12.1) claims it',
      ]);
      expect(byIds.stdout + byIds.stderr).not.toContain('nx run');

      const lspci = '3b:00.0 Ethernet controller [0200]: Broadcom Inc. and subsidiaries NetXtreme BCM5720 Gigabit Ethernet PCIe [14e4:165f]\n3b:00.1 Ethernet controller [0200]: QLogic Corp. FastLinQ QL41000 Series 10/25/40/50GbE Controller [1077:8070] (rev 02)\n';
      const pasted = await run(join(root, 'hook'), ['hardware', 'k'], { cwd: root, env: { HOOK_WORKSPACE_ROOT: dir }, input: lspci, allowFailure: true, timeoutMs: 60000 });
      expect(pasted.exitCode).toBe(0);
      expect(pasted.stdout.trim().split('\n').map((l) => l.split(':').slice(0, 3).join(':'))).toEqual(['14e4:165f: tg3 (network, kept); no firmware declared', '1077:8070: qede (network, kept); firmware present']);

      const bad = await hook(['hardware', 'k', 'qede'], { HOOK_WORKSPACE_ROOT: dir });
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr.trim()).toMatch(/'qede' is not a device ID; give vendor:device in hex, e\.g\. 14e4:165f$/);
    });

    it('names a flavor that is not built, in one line', async () => {
      const result = await hook(['hardware', 'k', '1077:8070'], { HOOK_WORKSPACE_ROOT: workspace() });
      expect(result.exitCode).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/k is not built \(dist\/hook\/hardware-.*\.json is missing\); build it first: \.\/hook build k/);
    });
  });
});
