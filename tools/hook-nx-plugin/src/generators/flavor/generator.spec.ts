import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import type { Tree } from '@nx/devkit';
import { parseFlavor } from '@hook/inventory';
import flavorGenerator from './generator';

function workspace(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('kernel/hook-default-amd64/kernel.yaml', 'METHOD: default\nARCH: x86_64\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 12\n');
  tree.write('linuxkit-templates/hook.template.yaml', 'kernel: {}\n');
  return tree;
}

describe('flavor generator', () => {
  it('writes a valid flavor.yaml that borrows the given kernel', async () => {
    const tree = workspace();
    await flavorGenerator(tree, { id: 'site-amd64', kernel: 'hook-default-amd64', tags: 'site lab', iso: true, description: 'Our lab' });
    const text = tree.read('flavors/site-amd64/flavor.yaml', 'utf-8')!;
    expect(parseFlavor(text, 'site-amd64', 'f')).toMatchObject({
      ARCH: 'x86_64',
      TAG: ['site', 'lab'],
      SUPPORTS_ISO: true,
      USE_KERNEL_ID: 'hook-default-amd64',
      TEMPLATE: 'hook',
      DESCRIPTION: 'Our lab',
    });
  });

  it('refuses an unknown kernel, an arch mismatch, an existing flavor and a bad id', async () => {
    const tree = workspace();
    await expect(flavorGenerator(tree, { id: 'x', kernel: 'hook-default-amd65' })).rejects.toThrow(
      "Unknown kernel 'hook-default-amd65' (did you mean hook-default-amd64?); valid ones are: hook-default-amd64",
    );
    await expect(flavorGenerator(tree, { id: 'x', kernel: 'hook-default-amd64', arch: 'aarch64' })).rejects.toThrow(
      '--arch aarch64 does not match kernel hook-default-amd64, which is x86_64',
    );
    await expect(flavorGenerator(tree, { id: 'Bad Id', kernel: 'hook-default-amd64' })).rejects.toThrow("Invalid flavor id 'Bad Id'");
    await flavorGenerator(tree, { id: 'x', kernel: 'hook-default-amd64' });
    await expect(flavorGenerator(tree, { id: 'x', kernel: 'hook-default-amd64' })).rejects.toThrow('flavors/x/flavor.yaml already exists');
    await expect(flavorGenerator(tree, { id: 'y', kernel: 'hook-default-amd64', template: 'nope' })).rejects.toThrow("Unknown template 'nope'");
  });
});
