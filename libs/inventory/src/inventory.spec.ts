import { join } from 'node:path';
import { UserError } from '@hook/log';
import {
  boardsOf,
  defconfigPathOf,
  findFlavor,
  kernelOf,
  loadInventory,
  outputIdOf,
  parseFlavor,
  parseKernelDefinition,
} from './index';
import { SOURCE_KERNEL, makeWorkspace } from './testing/fixture';

const repoRoot = join(__dirname, '../../..');

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

describe('the repository inventory', () => {
  const inventory = loadInventory(repoRoot);
  const ids = inventory.flavors.map((f) => f.id);

  it('has every upstream flavor id, sorted', () => {
    for (const id of [
      'hook-default-amd64',
      'hook-default-arm64',
      'peg-default-amd64',
      'hook-latest-lts-amd64',
      'hook-latest-lts-arm64',
      'armbian-meson64-edge',
      'armbian-bcm2711-current',
      'armbian-rockchip64-edge',
      'armbian-genio-edge',
      'armbian-rk35xx-vendor',
      'armbian-uefi-arm64-edge',
      'armbian-uefi-x86-edge',
    ]) {
      expect(ids).toContain(id);
    }
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps upstream tags, arches and ISO support', () => {
    const f = (id: string) => findFlavor(inventory, id);
    expect(f('hook-default-amd64')).toMatchObject({ ARCH: 'x86_64', TAG: ['standard'], SUPPORTS_ISO: true });
    expect(f('peg-default-amd64')).toMatchObject({ TAG: ['dev'], USE_KERNEL_ID: 'hook-default-amd64', TEMPLATE: 'peg' });
    expect(f('hook-latest-lts-arm64')).toMatchObject({ ARCH: 'aarch64', TAG: ['lts'], FORCE_OUTPUT_ID: 'latest-lts' });
    expect(f('armbian-uefi-x86-edge')).toMatchObject({ ARCH: 'x86_64', TAG: ['standard', 'armbian-uefi'], SUPPORTS_ISO: false });
    expect(kernelOf(inventory, f('armbian-genio-edge'))).toMatchObject({ METHOD: 'armbian', ARMBIAN_KERNEL_ARTIFACT: 'kernel-genio-collabora' });
    expect(kernelOf(inventory, f('armbian-genio-edge')).TYPE).toBeUndefined();
  });

  it('gives new flavors tags outside the default CI selection', () => {
    const upstreamTags = ['standard', 'dev', 'armbian-sbc', 'armbian-uefi', 'lts'];
    for (const id of ['hook-debian-amd64', 'hook-debian-arm64']) {
      expect(findFlavor(inventory, id).TAG.some((t) => upstreamTags.includes(t))).toBe(false);
    }
  });

  it('computes upstream OUTPUT_IDs', () => {
    const out = (id: string) => outputIdOf(findFlavor(inventory, id), kernelOf(inventory, findFlavor(inventory, id)));
    expect(out('hook-default-amd64')).toBe('x86_64');
    expect(out('hook-default-arm64')).toBe('aarch64');
    expect(out('hook-latest-lts-amd64')).toBe('latest-lts-x86_64');
    expect(out('peg-default-amd64')).toBe('peg-default-amd64');
    expect(out('armbian-meson64-edge')).toBe('armbian-meson64-edge');
  });

  it('lists the boards of each bootable as upstream', () => {
    const bootable = (flavor: string) => findFlavor(inventory, flavor).BOOTABLES[0];
    expect(boardsOf(bootable('hook-default-amd64'))).toEqual([{ id: 'grub-amd64-generic', opts: 'NOT=used' }]);
    expect(boardsOf(bootable('armbian-rockchip64-edge')).map((b) => b.id)).toEqual([
      'cm3588-nas',
      'nanopct6',
      'odroidm1',
      'quartz64a',
      'rockpro64',
    ]);
    expect(boardsOf(bootable('armbian-rk35xx-vendor'))).toContainEqual({ id: 'r58x', opts: 'BOARD=mekotronics-r58x-pro BRANCH=vendor' });
  });
});

describe('OUTPUT_ID rules', () => {
  const flavor = (extra: string) => parseFlavor(`ARCH: x86_64\nTAG: [x]\n${extra}`, 'my-flavor', 'f.yaml');
  const kernel = (extra = '') => parseKernelDefinition(SOURCE_KERNEL + extra, 'k', 'k.yaml');

  it('uses FORCE_OUTPUT_ID before KCONFIG and USE_KERNEL_ID', () => {
    expect(outputIdOf(flavor('FORCE_OUTPUT_ID: special\nUSE_KERNEL_ID: k\n'), kernel('KCONFIG: tiny\n'))).toBe('special-x86_64');
  });
  it('names non-generic configs by config and series', () => {
    expect(outputIdOf(flavor('USE_KERNEL_ID: k\n'), kernel('KCONFIG: tiny\n'))).toBe('tiny-6.12.y-x86_64');
  });
  it('uses the flavor id when it borrows a generic kernel', () => {
    expect(outputIdOf(flavor('USE_KERNEL_ID: k\n'), kernel())).toBe('my-flavor');
  });
  it('uses the bare arch for a generic own kernel', () => {
    expect(outputIdOf(flavor(''), kernel())).toBe('x86_64');
  });
  it('uses the flavor id for prebuilt kernels', () => {
    const debian = parseKernelDefinition('METHOD: debian\nARCH: x86_64\nDEBIAN_SUITE: trixie\n', 'k', 'k.yaml');
    expect(outputIdOf(flavor(''), debian)).toBe('my-flavor');
    expect(debian.DEBIAN_PACKAGE).toBe('linux-image-amd64');
  });
  it('finds the defconfig of a source kernel', () => {
    expect(defconfigPathOf(kernel())).toBe('kernel/configs/generic-6.12.y-x86_64');
  });
});

describe('validation errors name the file, line and field', () => {
  const flavorError = (text: string) => errorOf(() => parseFlavor(text, 'x', 'flavors/x/flavor.yaml'));
  const kernelError = (text: string) => errorOf(() => parseKernelDefinition(text, 'x', 'kernel/x/kernel.yaml'));

  it('rejects a typo in a key with a suggestion', () => {
    expect(flavorError('ARCH: x86_64\nTAGS: [standard]\n')).toBe(
      "flavors/x/flavor.yaml:2: unknown key 'TAGS' (did you mean TAG?); valid keys are ARCH, TAG, SUPPORTS_ISO, TEMPLATE, FORCE_OUTPUT_ID, USE_KERNEL_ID, LINUXKIT_VERSION, BOOTABLES, DESCRIPTION",
    );
  });
  it('rejects a missing TAG', () => {
    expect(flavorError('ARCH: x86_64\n')).toBe("flavors/x/flavor.yaml:1: missing required key 'TAG'");
  });
  it('rejects a missing METHOD', () => {
    expect(kernelError('ARCH: x86_64\nKERNEL_MAJOR: 6\n')).toBe("kernel/x/kernel.yaml:1: missing required key 'METHOD'");
  });
  it('rejects an unknown arch', () => {
    expect(flavorError('ARCH: riscv64\nTAG: [a]\n')).toBe("flavors/x/flavor.yaml:1: 'ARCH' is 'riscv64'; it must be one of x86_64, aarch64");
  });
  it('rejects a wrong type', () => {
    expect(flavorError('ARCH: x86_64\nTAG: [a]\nSUPPORTS_ISO: "yes"\n')).toBe("flavors/x/flavor.yaml:3: 'SUPPORTS_ISO' must be true or false, not \"yes\"");
    expect(kernelError('METHOD: default\nARCH: x86_64\nKERNEL_MAJOR: six\nKERNEL_MINOR: 1\n')).toBe(
      "kernel/x/kernel.yaml:3: 'KERNEL_MAJOR' must be a whole number, not \"six\"",
    );
  });
  it('rejects a typo inside a bootable', () => {
    expect(flavorError('ARCH: x86_64\nTAG: [a]\nBOOTABLES:\n  - ID: b\n    HANDLR: grub\n    TAG: [a]\n')).toMatch(
      /^flavors\/x\/flavor.yaml:5: unknown key 'BOOTABLES\[0\]\.HANDLR' \(did you mean HANDLER\?\)/,
    );
  });
  it('rejects broken YAML with its line', () => {
    expect(flavorError('ARCH: x86_64\nTAG: [a\n')).toMatch(/^flavors\/x\/flavor.yaml:\d+: invalid YAML/);
  });
  it('requires method-specific fields', () => {
    expect(kernelError('METHOD: armbian\nARCH: aarch64\n')).toContain("missing required key 'ARMBIAN_KERNEL_ARTIFACT'");
  });
  it('accepts upstream space-separated tags', () => {
    expect(parseFlavor("ARCH: x86_64\nTAG: 'standard armbian-uefi'\n", 'x', 'f').TAG).toEqual(['standard', 'armbian-uefi']);
  });
});

describe('cross-checks between flavors and kernels', () => {
  it('reports a flavor whose kernel does not exist', () => {
    const root = makeWorkspace({
      'kernel/a/kernel.yaml': SOURCE_KERNEL,
      'flavors/b/flavor.yaml': 'ARCH: x86_64\nTAG: [x]\nUSE_KERNEL_ID: aa\n',
    });
    expect(errorOf(() => loadInventory(root))).toBe(
      "flavors/b/flavor.yaml: USE_KERNEL_ID 'aa' does not exist (did you mean a?); add kernel/aa/kernel.yaml or set USE_KERNEL_ID to one of a",
    );
  });
  it('reports an arch mismatch and a missing template', () => {
    const mismatch = makeWorkspace({ 'kernel/a/kernel.yaml': SOURCE_KERNEL, 'flavors/a/flavor.yaml': 'ARCH: aarch64\nTAG: [x]\n' });
    expect(errorOf(() => loadInventory(mismatch))).toBe('flavors/a/flavor.yaml: ARCH is aarch64 but its kernel a is x86_64');
    const template = makeWorkspace({ 'kernel/a/kernel.yaml': SOURCE_KERNEL, 'flavors/a/flavor.yaml': 'ARCH: x86_64\nTAG: [x]\nTEMPLATE: nope\n' });
    expect(errorOf(() => loadInventory(template))).toContain("TEMPLATE 'nope' has no file linuxkit-templates/nope.template.yaml");
  });
  it('lists valid flavors for an unknown one', () => {
    const inventory = loadInventory(repoRoot);
    expect(errorOf(() => findFlavor(inventory, 'hook-defualt-amd64'))).toMatch(
      /^Unknown flavor 'hook-defualt-amd64' \(did you mean hook-default-amd64\?\); valid ones are: armbian-bcm2711-current /,
    );
  });
});

describe('template images', () => {
  it('maps variables to image folders, ignoring comments', () => {
    const { imagesOfTemplate, imageVariableName: imageVariableOf } = jest.requireActual('./index');
    expect(imageVariableOf('hook-bootkit')).toBe('HOOK_CONTAINER_BOOTKIT_IMAGE');
    expect(imageVariableOf('ca-certificates')).toBe('HOOK_CONTAINER_CA_CERTIFICATES_IMAGE');
    const text = '# ${HOOK_CONTAINER_OLD_IMAGE}\ninit:\n  - "${HOOK_CONTAINER_INIT_IMAGE}"\n  - $HOOK_CONTAINER_CA_CERTIFICATES_IMAGE\n';
    expect(imagesOfTemplate(text, 't.yaml', ['hook-init', 'ca-certificates', 'unused'])).toEqual(['ca-certificates', 'hook-init']);
    expect(errorOf(() => imagesOfTemplate(text, 't.yaml', ['hook-init']))).toBe(
      't.yaml uses ${HOOK_CONTAINER_CA_CERTIFICATES_IMAGE} but there is no image folder images/ca-certificates or images/hook-ca-certificates',
    );
  });
});

describe('YAML errors in their fixed form', () => {
  it('end without a stray colon', () => {
    const { parseYamlMapping } = require('./validate');
    expect(() => parseYamlMapping('ARCH: x86_64\nTAG: [a\n', 'flavors/x/flavor.yaml')).toThrow(
      'flavors/x/flavor.yaml:3: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    );
    try {
      parseYamlMapping('ARCH: x86_64\nTAG: [a\n', 'flavors/x/flavor.yaml');
    } catch (error) {
      expect((error as Error).message.endsWith(']')).toBe(true);
    }
  });
});
