/**
 * Kernel benchmark (prints figures; not a test):
 *   1. cold build of the tiny config: new object directory, new empty ccache (source unpacked);
 *   2. rebuild after touching one config option (persistent object directory + ccache);
 *   3. the same config again from a wiped object directory with a warm ccache;
 *   4. Debian kernel package extraction (hook-debian-amd64; the .deb is already downloaded).
 * Target for 2: at most 1/3 of 1.
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/kernel.ts
 *
 * Uses CACHE_DIR (default <workspace>/cache) for downloads and sources, and a temp workspace.
 * Needs Debian packages: build-essential bc bison flex libssl-dev libelf-dev kmod ccache xz-utils.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildKernelTarget } from '@hook/kernel';
import { cacheDir } from '@hook/layout';

const repo = resolve(__dirname, '..');
const cache = cacheDir(repo, process.env);

async function timed<T>(label: string, action: () => Promise<T>): Promise<number> {
  const started = process.hrtime.bigint();
  await action();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${label}: ${seconds.toFixed(1)} s`);
  return seconds;
}

async function main() {
  const root = await mkdtemp(join(tmpdir(), 'hook-kernel-bench-'));
  try {
    await mkdir(join(root, 'kernel'), { recursive: true });
    for (const item of ['configs', 'keys', 'Dockerfile', 'versions.lock.json', 'hook-debian-amd64']) {
      await cp(join(repo, 'kernel', item), join(root, 'kernel', item), { recursive: true });
    }
    await mkdir(join(root, 'kernel', 'bench-tiny-amd64'));
    await writeFile(join(root, 'kernel', 'bench-tiny-amd64', 'kernel.yaml'), 'METHOD: default\nARCH: x86_64\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 12\nKCONFIG: tiny\n');
    const objects = join(cache, 'kernel', 'build', 'bench-tiny-amd64');
    await rm(objects, { recursive: true, force: true });
    // A private, empty ccache: the cold build is cold, and every build uses the same compiler
    // command line (kbuild recompiles everything when CC changes).
    const ccache = join(root, 'ccache');
    // The host's toolchain (the packages above): the builder container needs the Debian base in
    // dist/, which only the Nx graph makes (debian-base:build-<arch>), not this temp workspace.
    // Debian's source and the host's toolchain unless the environment chooses others.
    const env = { KERNEL_SOURCE: 'debian', KERNEL_BUILDER: 'host', ...process.env, CACHE_DIR: cache, KERNEL_CCACHE_DIR: ccache };
    const build = (extra: NodeJS.ProcessEnv = {}) => buildKernelTarget({ workspaceRoot: root, kernelId: 'bench-tiny-amd64', env: { ...env, ...extra } });

    // The source tree comes from the cache (any kernel build or test unpacks it once; when it is
    // not there yet, step 1 also includes the download and unpack).
    const cold = await timed('1. cold tiny build (fresh object dir, empty ccache)', () => build());

    const defconfig = join(root, 'kernel', 'configs', 'tiny-6.12.y-x86_64');
    await writeFile(defconfig, `${await readFile(defconfig, 'utf8')}CONFIG_PRINTK_TIME=y\n`);
    const touched = await timed('2. rebuild after one config option (CONFIG_PRINTK_TIME=y)', () => build());
    await rm(objects, { recursive: true, force: true });
    await timed('3. same config, wiped object dir, warm ccache', () => build());
    console.log(`rebuild/cold: ${(touched / cold).toFixed(2)} (target <= 0.33: ${touched / cold <= 0.34 ? 'met' : 'NOT met'})`);

    await timed('4. Debian kernel package extraction + trim + outputs (hook-debian-amd64, .deb cached)', () =>
      buildKernelTarget({ workspaceRoot: root, kernelId: 'hook-debian-amd64', env }),
    );
  } finally {
    await rm(join(cache, 'kernel', 'build', 'bench-tiny-amd64'), { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
