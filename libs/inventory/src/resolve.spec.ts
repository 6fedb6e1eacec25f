import { join } from 'node:path';
import { UserError } from '@hook/log';
import { findFlavor, kernelOf, loadInventory, resolveFlavor, resolveParsedFlavor } from './index';
import { SOURCE_KERNEL, makeWorkspace } from './testing/fixture';

const repoRoot = join(__dirname, '../../..');

describe('resolveFlavor', () => {
  it("gives a flavor's kernel, OUTPUT_ID and dist/hook files, from a root or a loaded inventory", () => {
    const resolved = resolveFlavor(repoRoot, 'hook-latest-lts-arm64');
    expect(resolved.flavor).toMatchObject({ id: 'hook-latest-lts-arm64', ARCH: 'aarch64' });
    expect(resolved.kernel.id).toBe('hook-latest-lts-arm64');
    expect(resolved.outputId).toBe('latest-lts-aarch64');
    expect(resolved.files).toMatchObject({
      vmlinuz: 'dist/hook/vmlinuz-latest-lts-aarch64',
      initramfs: 'dist/hook/initramfs-latest-lts-aarch64',
      checksums: 'dist/hook/SHA256SUMS-latest-lts-aarch64',
    });
    expect(resolveFlavor(loadInventory(repoRoot), 'hook-latest-lts-arm64')).toEqual(resolved);
  });

  it("follows USE_KERNEL_ID: peg's kernel is hook-default-amd64's, its files carry the flavor id", () => {
    const { kernel, outputId, files } = resolveFlavor(repoRoot, 'peg-default-amd64');
    expect(kernel.id).toBe('hook-default-amd64');
    expect(outputId).toBe('peg-default-amd64');
    expect(files.initramfs).toBe('dist/hook/initramfs-peg-default-amd64');
  });

  it('is the same for a flavor and kernel read one by one (the Nx plugin)', () => {
    const root = makeWorkspace({ 'kernel/k/kernel.yaml': `${SOURCE_KERNEL}KCONFIG: tiny\n`, 'flavors/f/flavor.yaml': 'ARCH: x86_64\nTAG: [x]\nUSE_KERNEL_ID: k\n' });
    const inventory = loadInventory(root);
    const flavor = findFlavor(inventory, 'f');
    expect(resolveParsedFlavor(flavor, kernelOf(inventory, flavor))).toEqual(resolveFlavor(root, 'f'));
    expect(resolveFlavor(root, 'f').files.vmlinuz).toBe('dist/hook/vmlinuz-tiny-6.12.y-x86_64');
  });

  it('says in one line which flavors there are for an unknown id', () => {
    const error = (() => {
      try {
        resolveFlavor(repoRoot, 'hook-defualt-amd64');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^Unknown flavor 'hook-defualt-amd64' \(did you mean hook-default-amd64\?\); valid ones are: armbian-bcm2711-current [^\n]*$/);
  });
});
