import { join } from 'node:path';
import { loadInventory } from '@hook/inventory';
import { SOURCE_KERNEL, makeWorkspace } from '@hook/inventory/testing';
import { computeMatrices, findRunner, githubOutputLines } from './index';

const repo = loadInventory(join(__dirname, '../../..'));

describe('CI_TAGS selection', () => {
  it('selects upstream default tags: standard, dev, armbian-sbc, armbian-uefi', () => {
    const m = computeMatrices(repo, {});
    const hooks = m.lkHooks.map((i) => i.kernel);
    expect(hooks).toContain('hook-default-amd64');
    expect(hooks).toContain('peg-default-amd64');
    expect(hooks).toContain('armbian-meson64-edge');
    expect(hooks).not.toContain('hook-latest-lts-amd64');
    expect(hooks).not.toContain('hook-debian-amd64');
    expect([...hooks].sort()).toEqual(hooks);
  });

  it('includes a flavor when any of its tags is selected', () => {
    const m = computeMatrices(repo, { CI_TAGS: 'armbian-uefi' });
    expect(m.lkHooks.map((i) => i.kernel)).toEqual(['armbian-uefi-arm64-edge', 'armbian-uefi-x86-edge']);
  });

  it('treats an empty CI_TAGS as unset, as bash does', () => {
    expect(computeMatrices(repo, { CI_TAGS: '' })).toEqual(computeMatrices(repo, {}));
  });

  it('skips kernels of flavors with USE_KERNEL_ID but still builds their hooks', () => {
    const m = computeMatrices(repo, { CI_TAGS: 'dev standard' });
    expect(m.kernels.map((i) => i.kernel)).not.toContain('peg-default-amd64');
    expect(m.lkHooks.map((i) => i.kernel)).toContain('peg-default-amd64');
  });

  it('describes each build like upstream', () => {
    const m = computeMatrices(repo, { CI_TAGS: 'lts' });
    expect(m.kernels[0]).toEqual({
      kernel: 'hook-latest-lts-amd64',
      arch: 'x86_64',
      docker_arch: 'amd64',
      build_iso: 'yes',
      runner: ['ubuntu-latest'],
      gha_cache: 'yes',
    });
    expect(m.kernels[1]).toMatchObject({ kernel: 'hook-latest-lts-arm64', docker_arch: 'arm64', runner: ['ubuntu-24.04-arm'] });
    const noIso = computeMatrices(repo, { CI_TAGS: 'armbian-sbc' }).kernels[0];
    expect(noIso.build_iso).toBe('');
  });

  it('lists one containers item per arch the selected kernels and hooks use', () => {
    expect(computeMatrices(repo, { CI_TAGS: 'dev' }).lkContainers).toEqual([{ docker_arch: 'amd64', runner: ['ubuntu-latest'] }]);
    expect(computeMatrices(repo, {}).lkContainers.map((i) => i.docker_arch)).toEqual(['amd64', 'arm64']);
    expect(computeMatrices(repo, { CI_TAGS: 'nothing-has-this' })).toEqual({ kernels: [], lkHooks: [], lkContainers: [], bootable: [] });
  });

  it('lists every board of each selected bootable, filtered by the bootable tag', () => {
    const m = computeMatrices(repo, { CI_TAGS: 'armbian-sbc' });
    expect(m.bootable.map((b) => `${b.bootable}/${b.board_id}`)).toEqual([
      'rpi/rpi',
      'uboot-aml/khadas-vim3',
      'uboot-aml/odroidhc4',
      'uboot-rk/cm3588-nas',
      'uboot-rk/nanopct6',
      'uboot-rk/odroidm1',
      'uboot-rk/quartz64a',
      'uboot-rk/rockpro64',
      'uboot-rk35xx-vendor/blade3',
      'uboot-rk35xx-vendor/r58x',
    ]);
    expect(m.bootable[1]).toEqual({
      kernel: 'armbian-meson64-edge',
      bootable: 'uboot-aml',
      arch: 'aarch64',
      docker_arch: 'arm64',
      board_id: 'khadas-vim3',
      board_opts: 'BOARD=khadas-vim3 BRANCH=edge',
      runner: ['ubuntu-24.04-arm'],
    });
    // The uefi-arm64 bootable is tagged standard although its flavor is also armbian-uefi.
    expect(computeMatrices(repo, { CI_TAGS: 'armbian-uefi' }).bootable).toEqual([]);
    expect(computeMatrices(repo, { CI_TAGS: 'standard' }).bootable.map((b) => b.board_id)).toEqual([
      'grub-amd64-generic',
      'grub-arm64-generic',
      'grub-armbian-uefi-amd64-generic',
      'grub-armbian-uefi-arm64-generic',
    ]);
  });
});

describe('runner selection', () => {
  it('defaults to GitHub-hosted runners per arch', () => {
    expect(findRunner({}, 'LK', 'amd64')).toEqual(['ubuntu-latest']);
    expect(findRunner({}, 'LK', 'arm64')).toEqual(['ubuntu-24.04-arm']);
  });

  it('takes the most specific variable: type+arch, type, arch, global', () => {
    const env = { CI_RUNNER: 'g', CI_RUNNER_AMD64: 'a', CI_RUNNER_LK: 't', CI_RUNNER_LK_AMD64: 'ta' };
    expect(findRunner(env, 'LK', 'amd64')).toEqual(['self-hosted', 'ta']);
    expect(findRunner({ ...env, CI_RUNNER_LK_AMD64: '' }, 'LK', 'amd64')).toEqual(['self-hosted', 't']);
    expect(findRunner({ CI_RUNNER: 'g', CI_RUNNER_AMD64: 'a' }, 'LK', 'amd64')).toEqual(['self-hosted', 'a']);
    expect(findRunner({ CI_RUNNER: 'g', CI_RUNNER_AMD64: 'a' }, 'LK', 'arm64')).toEqual(['self-hosted', 'g']);
    expect(findRunner({ CI_RUNNER_LK: 't' }, 'LK_CONTAINERS', 'amd64')).toEqual(['ubuntu-latest']);
    expect(findRunner({ CI_RUNNER_LK_CONTAINERS: 'c' }, 'LK_CONTAINERS', 'amd64')).toEqual(['self-hosted', 'c']);
  });

  it('puts the kernel TYPE variables first for kernels', () => {
    const env = { CI_RUNNER_KERNEL_AMD64: 'ka', CI_RUNNER_KERNEL_SOURCE: 'ks', CI_RUNNER_KERNEL_SOURCE_AMD64: 'ksa' };
    expect(findRunner(env, 'KERNEL', 'amd64', 'source')).toEqual(['self-hosted', 'ksa']);
    expect(findRunner({ ...env, CI_RUNNER_KERNEL_SOURCE_AMD64: undefined }, 'KERNEL', 'amd64', 'source')).toEqual(['self-hosted', 'ks']);
    expect(findRunner(env, 'KERNEL', 'amd64', 'external')).toEqual(['self-hosted', 'ka']);
    expect(findRunner(env, 'KERNEL', 'amd64')).toEqual(['self-hosted', 'ka']);
    const m = computeMatrices(repo, { CI_TAGS: 'standard armbian-sbc', CI_RUNNER_KERNEL_EXTERNAL: 'big', CI_RUNNER_KERNEL_SOURCE: 'huge' });
    const runnerOf = (id: string) => m.kernels.find((k) => k.kernel === id)?.runner;
    expect(runnerOf('hook-default-amd64')).toEqual(['self-hosted', 'huge']);
    expect(runnerOf('armbian-meson64-edge')).toEqual(['self-hosted', 'big']);
    // armbian-genio-edge has no TYPE, so the TYPE variables do not apply.
    expect(runnerOf('armbian-genio-edge')).toEqual(['ubuntu-24.04-arm']);
    // The TYPE applies to kernels only.
    expect(m.lkHooks.find((k) => k.kernel === 'hook-default-amd64')?.runner).toEqual(['ubuntu-latest']);
  });

  it('splits runners on spaces and applies the self-hosted tag rule', () => {
    expect(findRunner({ CI_RUNNER: 'X64  big-disk' }, 'LK', 'amd64')).toEqual(['self-hosted', 'X64', 'big-disk']);
    expect(findRunner({ CI_RUNNER: 'ubuntu-22.04' }, 'LK', 'amd64')).toEqual(['ubuntu-22.04']);
    expect(findRunner({ CI_RUNNER: 'ubuntu-22.04 extra' }, 'LK', 'amd64')).toEqual(['ubuntu-22.04', 'extra']);
    expect(findRunner({ CI_RUNNER: 'mine', CI_RUNNERS_SELF_HOSTED_TAG: 'my-pool' }, 'LK', 'amd64')).toEqual(['my-pool', 'mine']);
    expect(findRunner({ CI_RUNNER: 'mine', CI_RUNNERS_SELF_HOSTED_TAG: 'none' }, 'LK', 'amd64')).toEqual(['mine']);
    expect(findRunner({ CI_RUNNER: 'mine', CI_RUNNERS_SELF_HOSTED_TAG: '' }, 'LK', 'amd64')).toEqual(['self-hosted', 'mine']);
  });
});

describe('GITHUB_OUTPUT lines', () => {
  it('writes the four compact JSON documents in upstream order', () => {
    const root = makeWorkspace({
      'kernel/k/kernel.yaml': SOURCE_KERNEL,
      'flavors/k/flavor.yaml': 'ARCH: x86_64\nTAG: [standard]\nBOOTABLES:\n  - ID: grub-k\n    HANDLER: grub\n    TAG: [standard]\n',
    });
    expect(githubOutputLines(computeMatrices(loadInventory(root), {}))).toEqual([
      'kernels_json=[{"kernel":"k","arch":"x86_64","docker_arch":"amd64","build_iso":"","runner":["ubuntu-latest"],"gha_cache":"yes"}]',
      'lk_hooks_json=[{"kernel":"k","arch":"x86_64","docker_arch":"amd64","build_iso":"","runner":["ubuntu-latest"],"gha_cache":"yes"}]',
      'lkcontainers_json=[{"docker_arch":"amd64","runner":["ubuntu-latest"]}]',
      'bootable_json=[{"kernel":"k","bootable":"grub-k","arch":"x86_64","docker_arch":"amd64","board_id":"grub-k-generic","board_opts":"NOT=used","runner":["ubuntu-latest"]}]',
    ]);
  });
});
