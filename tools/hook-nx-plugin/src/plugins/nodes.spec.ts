import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCE_KERNEL, makeWorkspace } from '@hook/inventory/testing';
import { loadInventory, mediumImageName } from '@hook/inventory';
import { mediumFiles } from '@hook/layout';
import { computeMatrices } from '@hook/ci-matrix';
import { resolveBootable, selectBoards } from '@hook/bootable';
import { createNodesV2 } from '../index';
import { inferFromFile, type InferenceContext } from './nodes';
import { inferDependencies } from './dependencies';

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
    expect(inferDependencies(['flavors/k-amd64'], ctx)).toEqual([
      { source: 'k-amd64', target: 'kernel-k-amd64', sourceFile: 'flavors/k-amd64/flavor.yaml' },
      { source: 'k-amd64', target: 'hook-bootkit', sourceFile: 'flavors/k-amd64/flavor.yaml' },
      { source: 'k-amd64', target: 'hook-init', sourceFile: 'flavors/k-amd64/flavor.yaml' },
    ]);
    expect(flavor.tags).toEqual(['hook:flavor', 'arch:amd64', 'kernel-method:default', 'ci:standard']);
    expect(flavor.targets.build.dependsOn).toEqual([
      { target: 'build', projects: ['kernel-k-amd64'] },
      { target: 'build-amd64', projects: ['hook-bootkit', 'hook-init'] },
    ]);
    expect(flavor.targets.build.outputs).toContain('{workspaceRoot}/dist/hook/vmlinuz-x86_64');
    expect(flavor.targets.build.outputs).toContain('{workspaceRoot}/dist/hook_x86_64.tar.gz');
    // The SBOM is cached with the build (kernels' and images' SBOMs are inside their output folders).
    expect(flavor.targets.build.outputs).toContain('{workspaceRoot}/dist/hook/sbom-x86_64.cdx.json');
    expect(flavor.targets.iso.outputs).toEqual(['{workspaceRoot}/dist/hook/hook-x86_64.iso', '{workspaceRoot}/dist/hook/sbom-iso-x86_64.cdx.json']);
    expect(Object.keys(flavor.targets).filter((t) => t.startsWith('bootable'))).toEqual([]);
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
  });

  it('gives each bootable a cached target after the flavor build, hashing the TINK_* settings and the build\'s sha256s, writing upstream\'s file names', () => {
    const { ctx } = fixture();
    const flavor = inferFromFile('flavors/k-arm64/flavor.yaml', ctx)!;
    const target = flavor.targets['bootable-b'];
    expect(target).toMatchObject({ executor: '@hook/nx-plugin:bootable-media', options: { flavor: 'k-arm64', bootable: 'b' }, cache: true, dependsOn: ['build'] });
    expect(target.outputs).toEqual(['{workspaceRoot}/dist/bootable/hook-bootable-grub-k-arm64.img.xz', '{workspaceRoot}/dist/bootable/sbom-hook-bootable-grub-k-arm64.cdx.json', '{workspaceRoot}/dist/bootable/b.json']);
    expect(target.inputs).toEqual(
      expect.arrayContaining([
        'hookBootableTooling',
        { dependentTasksOutputFiles: '**/SHA256SUMS-*' },
        { env: 'TINK_WORKER_IMAGE' },
        { env: 'TINK_SERVER' },
        { env: 'TINK_TLS' },
        { env: 'TINK_GRPC_PORT' },
        { env: 'WORKER_ID' },
        { env: 'BOARD' },
        { env: 'SOURCE_DATE_EPOCH' },
      ]),
    );
    // Where the image goes when written to a card is no part of the cached result.
    expect(target.inputs).not.toContainEqual({ env: 'CARD_DEVICE' });
  });

  it('follows USE_KERNEL_ID and the flavor template', () => {
    const { ctx } = fixture();
    const mini = inferFromFile('flavors/mini/flavor.yaml', ctx)!;
    expect(inferDependencies(['flavors/mini'], ctx).map((d) => d.target)).toEqual(['kernel-k-amd64', 'hook-init']);
    expect(mini.targets.build.inputs).toContain('{workspaceRoot}/linuxkit-templates/mini.template.yaml');
    expect(mini.targets.build.outputs).toContain('{workspaceRoot}/dist/hook/vmlinuz-mini');
  });

  it('makes kernel projects whose hash includes their defconfig and the plugin source', () => {
    const { ctx } = fixture();
    const source = inferFromFile('kernel/k-amd64/kernel.yaml', ctx)!;
    expect(source.name).toBe('kernel-k-amd64');
    expect(source.targets.build.executor).toBe('@hook/nx-plugin:kernel-build');
    expect(source.targets.build.inputs).toEqual(
      expect.arrayContaining(['hookKernelTooling', '{workspaceRoot}/kernel/configs/generic-6.12.y-x86_64']),
    );
    // Every setting that changes which point release is compiled.
    expect(source.targets.build.inputs).toEqual(expect.arrayContaining([{ env: 'KERNEL_POINT_RELEASE' }, { env: 'USE_LATEST_BUILT_KERNEL' }, { env: 'KERNEL_SOURCE' }]));
    // Compiled in the kernel builder, FROM the base image: the base's build runs first, and its
    // recipe and tag (image.json) are in the kernel's hash.
    expect(source.targets.build.dependsOn).toEqual([{ target: 'build-amd64', projects: ['base'] }]);
    expect(source.targets.build.inputs).toEqual(
      expect.arrayContaining([{ input: 'default', projects: ['base'] }, { dependentTasksOutputFiles: '**/image.json', transitive: true }]),
    );
    expect(inferDependencies(['kernel/k-amd64'], ctx)).toEqual([{ source: 'kernel-k-amd64', target: 'base', sourceFile: 'kernel/k-amd64/kernel.yaml' }]);
    expect(source.targets.build.outputs).toEqual(['{workspaceRoot}/dist/kernels/k-amd64']);
    expect(Object.keys(source.targets).sort()).toEqual(['build', 'check-config', 'config', 'config-shell', 'publish', 'refresh-lock']);
    expect(source.targets['check-config']).toMatchObject({ executor: '@hook/nx-plugin:kernel-check', options: { kernel: 'k-amd64' }, cache: false });
    const armbian = inferFromFile('kernel/k-arm64/kernel.yaml', ctx)!;
    expect(armbian.targets.build.executor).toBe('@hook/nx-plugin:armbian-fetch');
    expect(armbian.targets['check-config'].executor).toBe('@hook/nx-plugin:kernel-check');
    expect(armbian.targets.config).toBeUndefined();
    expect(armbian.targets.build.dependsOn).toEqual([]);
    expect(inferDependencies(['kernel/k-arm64'], ctx)).toEqual([]);
  });

  it('makes image projects with one build target per arch, depending on the base image', () => {
    const { ctx } = fixture();
    const image = inferFromFile('images/hook-bootkit/Dockerfile', ctx)!;
    expect(image.name).toBe('hook-bootkit');
    expect(inferDependencies(['images/hook-bootkit'], ctx)).toEqual([{ source: 'hook-bootkit', target: 'base', sourceFile: 'images/hook-bootkit/Dockerfile' }]);
    expect(image.tags).toEqual(['hook:image', 'arch:amd64', 'arch:arm64']);
    expect(image.projectType).toBe('application');
    expect(image.targets['build-arm64']).toMatchObject({
      executor: '@hook/nx-plugin:container-build',
      options: { image: 'hook-bootkit', arch: 'arm64' },
      outputs: ['{workspaceRoot}/dist/images/hook-bootkit/arm64'],
      dependsOn: [{ target: 'build-arm64', projects: ['base'] }],
    });
    expect(image.targets.build.dependsOn).toEqual(['build-amd64']);
    const base = inferFromFile('images/base/image.yaml', ctx)!;
    expect(base.tags).toContain('hook:base-image');
    expect(inferDependencies(['images/base'], ctx)).toEqual([]);
    expect(base.projectType).toBe('library');
  });

  it('links each project to the library its executor runs, when that library is a project', () => {
    const { ctx } = fixture();
    const libraries = new Set(['hookos', 'kernel', 'containers', 'bootable']);
    const edges = inferDependencies(['flavors/mini', 'flavors/k-arm64', 'kernel/k-arm64', 'images/base', 'libs/iso'], ctx, libraries);
    expect(edges.filter((e) => e.sourceFile === undefined)).toEqual([
      { source: 'mini', target: 'hookos' },
      // A flavor with bootables also runs @hook/bootable (its bootable-<id> targets).
      { source: 'k-arm64', target: 'hookos' },
      { source: 'k-arm64', target: 'bootable' },
      { source: 'kernel-k-arm64', target: 'kernel' },
      { source: 'base', target: 'containers' },
    ]);
  });

  it('describes every project and every target', () => {
    const { ctx } = fixture();
    for (const file of ['flavors/k-amd64/flavor.yaml', 'flavors/k-arm64/flavor.yaml', 'kernel/k-amd64/kernel.yaml', 'kernel/k-arm64/kernel.yaml', 'images/hook-init/Dockerfile', 'images/base/image.yaml']) {
      const project = inferFromFile(file, ctx)!;
      expect(project.metadata.description).toMatch(/\w/);
      for (const [name, target] of Object.entries(project.targets)) {
        expect([file, name, target.metadata.description]).toEqual([file, name, expect.stringMatching(/^[A-Z].{20,}/)]);
      }
    }
  });

  it('says of every target whether it is continuous, so Nx reads no executor schema (and loads no TypeScript) to build the graph', () => {
    const { ctx } = fixture();
    for (const file of ['flavors/k-amd64/flavor.yaml', 'flavors/k-arm64/flavor.yaml', 'kernel/k-amd64/kernel.yaml', 'kernel/k-arm64/kernel.yaml', 'images/hook-init/Dockerfile', 'images/base/image.yaml']) {
      for (const [name, target] of Object.entries(inferFromFile(file, ctx)!.targets)) expect([file, name, target.continuous]).toEqual([file, name, false]);
    }
  });

  it('reports a flavor whose kernel or template does not exist as one user error line', () => {
    const { root, ctx } = fixture();
    writeFileSync(join(root, 'flavors/mini/flavor.yaml'), 'ARCH: x86_64\nTAG: [dev]\nUSE_KERNEL_ID: nope\n');
    expect(() => inferFromFile('flavors/mini/flavor.yaml', ctx)).toThrow(
      expect.objectContaining({ name: 'UserError', message: expect.stringMatching(/^flavors\/mini\/flavor.yaml: its kernel kernel\/nope\/kernel.yaml does not exist; set USE_KERNEL_ID/) }),
    );
    writeFileSync(join(root, 'flavors/mini/flavor.yaml'), 'ARCH: x86_64\nTAG: [dev]\nUSE_KERNEL_ID: k-amd64\nTEMPLATE: nope\n');
    expect(() => inferFromFile('flavors/mini/flavor.yaml', { ...ctx, cache: new Map() })).toThrow(
      expect.objectContaining({ name: 'UserError', message: expect.stringMatching(/TEMPLATE 'nope' has no file linuxkit-templates\/nope.template.yaml/) }),
    );
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

describe('createNodesV2 errors', () => {
  it('a mistake in a template that several flavors use is reported once', async () => {
    const root = makeWorkspace({
      'linuxkit-templates/hook.template.yaml': 'init:\n  - "${HOOK_CONTAINER_NOPE_IMAGE}"\n',
      'kernel/k-amd64/kernel.yaml': SOURCE_KERNEL,
      'flavors/a/flavor.yaml': 'ARCH: x86_64\nTAG: [standard]\nUSE_KERNEL_ID: k-amd64\n',
      'flavors/b/flavor.yaml': 'ARCH: x86_64\nTAG: [standard]\nUSE_KERNEL_ID: k-amd64\n',
      'flavors/c/flavor.yaml': 'ARCH: x86_64\nTAG: [standard]\nUSE_KERNEL_ID: k-amd64\n',
    });
    const [, create] = createNodesV2;
    const files = ['flavors/a/flavor.yaml', 'flavors/b/flavor.yaml', 'flavors/c/flavor.yaml'];
    const failure = await Promise.resolve(create(files, {}, { workspaceRoot: root, nxJsonConfiguration: {} })).then(
      () => undefined,
      (error: { errors?: [string, Error][] }) => error,
    );
    expect(failure?.errors?.map(([, error]) => error.message)).toEqual([
      'linuxkit-templates/hook.template.yaml uses ${HOOK_CONTAINER_NOPE_IMAGE} but there is no image folder images/nope or images/hook-nope',
    ]);
  });
});

describe("the workspace's bootable targets", () => {
  it('exist for every item of gha-matrix bootable_json, whose board the target writes (the workflow runs hook bootable-media <bootable> with BOARD=<board_id>)', () => {
    const root = join(__dirname, '../../../..');
    const inventory = loadInventory(root);
    const allTags = [...new Set(inventory.flavors.flatMap((f) => [...f.TAG, ...f.BOOTABLES.flatMap((b) => b.TAG)]))].join(' ');
    const items = computeMatrices(inventory, { CI_TAGS: allTags }).bootable;
    expect(items.map((i) => i.bootable)).toEqual(expect.arrayContaining(['grub-debian-amd64', 'grub-debian-arm64', 'uboot-rk', 'rpi']));
    const ctx: InferenceContext = { workspaceRoot: root, hostDockerArch: 'amd64', cache: new Map() };
    for (const item of items) {
      const target = inferFromFile(`flavors/${item.kernel}/flavor.yaml`, ctx)?.targets[`bootable-${item.bootable}`];
      expect([item.kernel, item.bootable, target?.cache]).toEqual([item.kernel, item.bootable, true]);
      const { bootable, outputId } = resolveBootable(inventory, item.bootable, item.kernel);
      const [board] = selectBoards(bootable, item.board_id);
      expect(board).toEqual({ id: item.board_id, opts: item.board_opts });
      expect(target?.outputs).toContain(`{workspaceRoot}/${mediumFiles(mediumImageName(bootable, board, outputId)).image}`);
    }
  });
});
