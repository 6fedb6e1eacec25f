/**
 * GitHub Actions matrices, with exactly the rules of upstream's bash/json-matrix.sh:
 * CI_TAGS selection, USE_KERNEL_ID skipping for kernels, CI_RUNNER_* precedence, the
 * self-hosted tag, and the four `*_json=` output lines. Output is sorted by id so it is stable.
 */
import {
  boardsOf,
  bootablesOf,
  dockerArchOf,
  kernelOf,
  type DockerArch,
  type Inventory,
} from '@hook/inventory';
import type { Logger } from '@hook/log';
import { familySetting, setting } from '@hook/settings';

export interface BuildItem {
  kernel: string;
  arch: string;
  docker_arch: DockerArch;
  build_iso: string;
  runner: string[];
  gha_cache: 'yes';
}

export interface ContainersItem {
  docker_arch: DockerArch;
  runner: string[];
}

export interface BootableItem {
  kernel: string;
  bootable: string;
  arch: string;
  docker_arch: DockerArch;
  board_id: string;
  board_opts: string;
  runner: string[];
}

export interface Matrices {
  kernels: BuildItem[];
  lkHooks: BuildItem[];
  lkContainers: ContainersItem[];
  bootable: BootableItem[];
}

type MatrixType = 'KERNEL' | 'LK' | 'LK_CONTAINERS' | 'BOOTABLE';

/** Upstream splits variables on whitespace (bash word splitting). */
function words(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter(Boolean);
}

export function selectedTags(env: NodeJS.ProcessEnv): string[] {
  // bash ${CI_TAGS:-default}: empty counts as unset.
  return setting(env, 'CI_TAGS');
}

/**
 * The runner for a matrix type and arch: the most specific non-empty CI_RUNNER_* variable,
 * split on spaces, with the self-hosted tag prepended unless it starts with `ubuntu-`.
 */
export function findRunner(env: NodeJS.ProcessEnv, type: MatrixType, dockerArch: DockerArch, kernelType?: string, logger?: Logger): string[] {
  const arch = dockerArch.toUpperCase();
  const candidates = kernelType
    ? [
        `CI_RUNNER_${type}_${kernelType.toUpperCase()}_${arch}`,
        `CI_RUNNER_${type}_${kernelType.toUpperCase()}`,
        `CI_RUNNER_${type}_${arch}`,
        `CI_RUNNER_${type}`,
        `CI_RUNNER_${arch}`,
        'CI_RUNNER',
      ]
    : [`CI_RUNNER_${type}_${arch}`, `CI_RUNNER_${type}`, `CI_RUNNER_${arch}`, 'CI_RUNNER'];
  let runner = dockerArch === 'arm64' ? 'ubuntu-24.04-arm' : 'ubuntu-latest';
  for (const name of candidates) {
    const found = familySetting(env, 'CI_RUNNER', name);
    if (found) {
      logger?.debug(`Found runner '${found}' for ${type}/${dockerArch} via ${name}`);
      runner = found;
      break;
    }
  }
  const labels: string[] = [];
  if (!runner.startsWith('ubuntu-')) {
    const selfHosted = setting(env, 'CI_RUNNERS_SELF_HOSTED_TAG');
    if (selfHosted !== 'none') labels.push(selfHosted);
  }
  return [...labels, ...words(runner)];
}

export function computeMatrices(inventory: Inventory, env: NodeJS.ProcessEnv, logger?: Logger): Matrices {
  const tags = selectedTags(env);
  const matches = (flavorTags: string[]) => flavorTags.some((tag) => tags.includes(tag));
  const arches = new Set<DockerArch>();

  const buildItems = (type: 'KERNEL' | 'LK'): BuildItem[] => {
    const items: BuildItem[] = [];
    for (const flavor of inventory.flavors) {
      const kernel = kernelOf(inventory, flavor);
      if (type === 'KERNEL' && flavor.USE_KERNEL_ID) {
        logger?.info(`Skipping build of kernel '${flavor.id}' due to it having USE_KERNEL_ID set to '${flavor.USE_KERNEL_ID}'`);
        continue;
      }
      if (!matches(flavor.TAG)) continue;
      const dockerArch = dockerArchOf(flavor.ARCH);
      arches.add(dockerArch);
      items.push({
        kernel: flavor.id,
        arch: flavor.ARCH,
        docker_arch: dockerArch,
        build_iso: flavor.SUPPORTS_ISO ? 'yes' : '',
        runner: findRunner(env, type, dockerArch, type === 'KERNEL' ? kernel.TYPE : undefined, logger),
        gha_cache: 'yes',
      });
    }
    return items;
  };

  const kernels = buildItems('KERNEL');
  const lkHooks = buildItems('LK');
  const lkContainers = [...arches].sort().map((dockerArch) => ({
    docker_arch: dockerArch,
    runner: findRunner(env, 'LK_CONTAINERS', dockerArch, undefined, logger),
  }));
  const bootable: BootableItem[] = [];
  for (const { bootable: b, flavor } of bootablesOf(inventory)) {
    if (!matches(b.TAG)) continue;
    const dockerArch = dockerArchOf(flavor.ARCH);
    for (const board of boardsOf(b)) {
      bootable.push({
        kernel: flavor.id,
        bootable: b.ID,
        arch: flavor.ARCH,
        docker_arch: dockerArch,
        board_id: board.id,
        board_opts: board.opts,
        runner: findRunner(env, 'BOOTABLE', dockerArch, undefined, logger),
      });
    }
  }
  return { kernels, lkHooks, lkContainers, bootable };
}

/** The lines upstream appends to $GITHUB_OUTPUT, in upstream's order. */
export function githubOutputLines(m: Matrices): string[] {
  return [
    `kernels_json=${JSON.stringify(m.kernels)}`,
    `lk_hooks_json=${JSON.stringify(m.lkHooks)}`,
    `lkcontainers_json=${JSON.stringify(m.lkContainers)}`,
    `bootable_json=${JSON.stringify(m.bootable)}`,
  ];
}
