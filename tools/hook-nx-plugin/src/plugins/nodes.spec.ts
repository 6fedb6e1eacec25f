import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCE_KERNEL, makeWorkspace } from '@hook/inventory/testing';
import { createNodesV2 } from '../index';
import { inferFromFile, type InferenceContext } from './nodes';

const TEMPLATE = [
  '# ${HOOK_CONTAINER_COMMENTED_IMAGE} is only mentioned in a comment',
  'kernel:',
  '  image: "${HOOK_KERNEL_IMAGE}"',
  'init:',
  '  - "${HOOK_CONTAINER_INIT_IMAGE}"',
  'services:',
  '  - name: bootkit',
  '    image: "${HOOK_CONTAINER_BOOTKIT_IMAGE}"',
  '',
].join('\n');

function fixture() {
  const root = makeWorkspace({
    'linuxkit-templates/hook.template.yaml': TEMPLATE,
    'linuxkit-templates/mini.template.yaml': 'init:\n  - "${HOOK_CONTAINER_INIT_IMAGE}"\n',
    'kernel/k-amd64/kernel.yaml': SOURCE_KERNEL,
    'kernel/k-arm64/kernel.yaml': 'METHOD: armbian\nARCH: aarch64\nARMBIAN_KERNEL_ARTIFACT: kernel-x\n',
    'flavors/k-amd64/flavor.yaml': 'ARCH: x86_64\nTAG: [standard]\nSUPPORTS_ISO: true\n',
    'flavors/k-arm64/flavor.yaml': 'ARCH: aarch64\nTAG: [standard]\nBOOTABLES:\n  - ID: b\n    HANDLER: grub\n    TAG: [standard]\n',
    'flavors/mini/flavor.yaml': 'ARCH: x86_64\nTAG: [dev]\nUSE_KERNEL_ID: k-amd64\nTEMPLATE: mini\n',
    'images/hook-init/Dockerfile': 'FROM x\n',
    'images/hook-bootkit/Dockerfile': 'FROM x\n',
    'images/unused/Dockerfile': 'FROM x\n',
    'images/base/image.yaml': 'suite: trixie\n',
  });
  const ctx: InferenceContext = { workspaceRoot: root, hostDockerArch: 'amd64', cache: new Map() };
  return { root, ctx };
}

describe('inferred projects', () => {
  it('makes a flavor project that depends on its kernel and the images its template names', () => {
    const { ctx } = fixture();
    const flavor = inferFromFile('flavors/k-amd64/flavor.yaml', ctx)!;
    expect(flavor.name).toBe('k-amd64');
    expect(flavor.root).toBe('flavors/k-amd64');
    expect(flavor.implicitDependencies).toEqual(['kernel-k-amd64', 'hook-bootkit', 'hook-init']);
    expect(flavor.tags).toEqual(['hook:flavor', 'arch:amd64', 'kernel-method:default', 'ci:standard']);
    expect(flavor.targets.build.dependsOn).toEqual([
      { target: 'build', projects: ['kernel-k-amd64'] },
      { target: 'build-amd64', projects: ['hook-bootkit', 'hook-init'] },
    ]);
    expect(flavor.targets.build.outputs).toContain('{workspaceRoot}/dist/hook/vmlinuz-x86_64');
    expect(flavor.targets.build.outputs).toContain('{workspaceRoot}/dist/hook_x86_64.tar.gz');
    expect(flavor.targets.iso.outputs).toEqual(['{workspaceRoot}/dist/hook/hook-x86_64.iso']);
    expect(flavor.targets['bootable-media']).toBeUndefined();
  });

  it('re-runs build and iso when the assembly backend or the initramfs settings change, not when only the linuxkit path does', () => {
    const { ctx } = fixture();
    const flavor = inferFromFile('flavors/k-amd64/flavor.yaml', ctx)!;
    for (const target of [flavor.targets.build, flavor.targets.iso]) {
      expect(target.inputs).toEqual(expect.arrayContaining([{ env: 'HOOK_LINUXKIT_BACKEND' }, { env: 'HOOK_INITRAMFS_LEVEL' }]));
      expect(target.inputs).not.toContainEqual({ env: 'LINUXKIT_BIN' });
    }
  });

  it('builds arm64 flavors from arm64 images and names outputs by OUTPUT_ID', () => {
    const { ctx } = fixture();
    const flavor = inferFromFile('flavors/k-arm64/flavor.yaml', ctx)!;
    expect(flavor.targets.build.dependsOn).toContainEqual({ target: 'build-arm64', projects: ['hook-bootkit', 'hook-init'] });
    expect(flavor.targets.build.outputs).toContain('{workspaceRoot}/dist/hook/initramfs-k-arm64');
    expect(flavor.targets.iso).toBeUndefined();
    expect(flavor.targets['bootable-media']).toBeDefined();
  });

  it('follows USE_KERNEL_ID and the flavor template', () => {
    const { ctx } = fixture();
    const mini = inferFromFile('flavors/mini/flavor.yaml', ctx)!;
    expect(mini.implicitDependencies).toEqual(['kernel-k-amd64', 'hook-init']);
    expect(mini.targets.build.inputs).toContain('{workspaceRoot}/linuxkit-templates/mini.template.yaml');
    expect(mini.targets.build.outputs).toContain('{workspaceRoot}/dist/hook/vmlinuz-mini');
  });

  it('makes kernel projects whose hash includes their defconfig and the plugin source', () => {
    const { ctx } = fixture();
    const source = inferFromFile('kernel/k-amd64/kernel.yaml', ctx)!;
    expect(source.name).toBe('kernel-k-amd64');
    expect(source.targets.build.executor).toBe('@hook/nx-plugin:kernel-build');
    expect(source.targets.build.inputs).toEqual(
      expect.arrayContaining(['hookTooling', '{workspaceRoot}/kernel/configs/generic-6.12.y-x86_64']),
    );
    expect(source.targets.build.outputs).toEqual(['{workspaceRoot}/dist/kernels/k-amd64']);
    expect(Object.keys(source.targets).sort()).toEqual(['build', 'config', 'config-shell', 'publish', 'refresh-lock']);
    const armbian = inferFromFile('kernel/k-arm64/kernel.yaml', ctx)!;
    expect(armbian.targets.build.executor).toBe('@hook/nx-plugin:armbian-fetch');
    expect(armbian.targets.config).toBeUndefined();
  });

  it('makes image projects with one build target per arch, depending on the base image', () => {
    const { ctx } = fixture();
    const image = inferFromFile('images/hook-bootkit/Dockerfile', ctx)!;
    expect(image.name).toBe('hook-bootkit');
    expect(image.implicitDependencies).toEqual(['base']);
    expect(image.targets['build-arm64']).toMatchObject({
      executor: '@hook/nx-plugin:container-build',
      options: { image: 'hook-bootkit', arch: 'arm64' },
      outputs: ['{workspaceRoot}/dist/images/hook-bootkit/arm64'],
      dependsOn: [{ target: 'build-arm64', projects: ['base'] }],
    });
    expect(image.targets.build.dependsOn).toEqual(['build-amd64']);
    const base = inferFromFile('images/base/image.yaml', ctx)!;
    expect(base.tags).toContain('hook:base-image');
    expect(base.implicitDependencies).toEqual([]);
  });

  it('reports a template image that has no folder, naming the template', () => {
    const { root, ctx } = fixture();
    writeFileSync(join(root, 'linuxkit-templates/mini.template.yaml'), 'init:\n  - "${HOOK_CONTAINER_MISSING_IMAGE}"\n');
    expect(() => inferFromFile('flavors/mini/flavor.yaml', ctx)).toThrow(
      'linuxkit-templates/mini.template.yaml uses ${HOOK_CONTAINER_MISSING_IMAGE} but there is no image folder images/missing or images/hook-missing',
    );
  });

  it('reports a typo in flavor.yaml with the file and line', () => {
    const { root, ctx } = fixture();
    mkdirSync(join(root, 'flavors/typo'));
    writeFileSync(join(root, 'flavors/typo/flavor.yaml'), 'ARCH: x86_64\nTAG: [x]\nSUPORTS_ISO: true\n');
    expect(() => inferFromFile('flavors/typo/flavor.yaml', ctx)).toThrow(/^flavors\/typo\/flavor.yaml:3: unknown key 'SUPORTS_ISO' \(did you mean SUPPORTS_ISO\?\)/);
  });
});

describe('createNodesV2', () => {
  it('returns one project per matched file, keyed by root', async () => {
    const { root } = fixture();
    const [glob, create] = createNodesV2;
    expect(glob).toContain('flavors/*/flavor.yaml');
    const files = ['flavors/k-amd64/flavor.yaml', 'kernel/k-amd64/kernel.yaml', 'images/hook-init/Dockerfile'];
    const results = await create(files, {}, { workspaceRoot: root, nxJsonConfiguration: {} });
    const projects = Object.fromEntries(results.map(([file, result]) => [file, Object.keys(result.projects ?? {})]));
    expect(projects).toEqual({
      'flavors/k-amd64/flavor.yaml': ['flavors/k-amd64'],
      'kernel/k-amd64/kernel.yaml': ['kernel/k-amd64'],
      'images/hook-init/Dockerfile': ['images/hook-init'],
    });
  });
});
