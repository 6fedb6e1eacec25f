/**
 * configureKernel on a source kernel: the `shell` mode opens $SHELL in the cached source with
 * KBUILD_OUTPUT set; here SHELL is a script that changes one option the way a person would, and
 * the defconfig saved back must carry it. Runs make olddefconfig/savedefconfig on Debian's
 * linux-source-6.12 (cached by the other kernel tests; unpacked here if needed).
 * Debian packages: build-essential bc bison flex libssl-dev libelf-dev kmod.
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configureKernel } from './target';
import { SHARED_CACHE, makeWorkspace, removeWorkspace } from '../test/helpers';

jest.setTimeout(30 * 60_000);

describe('kernel configure (integration: make on the cached source)', () => {
  let root: string | undefined;
  afterAll(async () => {
    await removeWorkspace(root);
    await rm(join(SHARED_CACHE, 'kernel', 'build', 'configure-tiny'), { recursive: true, force: true });
  });

  it('saves the changed configuration back into the defconfig', async () => {
    root = await makeWorkspace([]);
    const defconfig = join(root, 'kernel', 'configs', 'tiny-6.12.y-x86_64');
    expect(await readFile(defconfig, 'utf8')).not.toContain('CONFIG_PRINTK_TIME=y');
    const shell = join(root, 'edit-config.sh');
    await writeFile(shell, '#!/bin/sh\nexec ./scripts/config --file "$KBUILD_OUTPUT/.config" --enable PRINTK_TIME\n');
    await chmod(shell, 0o755);
    const env = { ...process.env, CACHE_DIR: SHARED_CACHE, KERNEL_SOURCE: 'debian', SHELL: shell, KERNEL_CCACHE_DIR: join(root, 'ccache') };
    // A kernel id of its own keeps this object dir apart from the build tests'.
    await mkdir(join(root, 'kernel', 'configure-tiny'));
    await writeFile(join(root, 'kernel', 'configure-tiny', 'kernel.yaml'), 'METHOD: default\nARCH: x86_64\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 12\nKCONFIG: tiny\n');
    await configureKernel({ workspaceRoot: root, kernelId: 'configure-tiny', env, mode: 'shell' });
    const saved = await readFile(defconfig, 'utf8');
    expect(saved).toContain('CONFIG_PRINTK_TIME=y');
    expect(saved).toContain('CONFIG_VIRTIO_BLK=m');
  });
});
