/**
 * Project inference: one Nx project per flavor (flavors/<id>/flavor.yaml), per kernel
 * definition (kernel/<id>/kernel.yaml) and per container folder (images/<name>/Dockerfile or
 * images/<name>/image.yaml for a base image). Edges are real graph dependencies: a flavor
 * depends on its kernel and on every image its LinuxKit template names.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  defconfigPathOf,
  dockerArchOf,
  imagesOfTemplate,
  kernelIdOf,
  kernelProjectName,
  outputIdOf,
  parseFlavor,
  parseKernelDefinition,
  templatePathOf,
  type DockerArch,
  type Flavor,
  type KernelDefinition,
} from '@hook/inventory';

export const PLUGIN = '@hook/nx-plugin';
export const PROJECT_FILES_GLOB = '{flavors/*/flavor.yaml,kernel/*/kernel.yaml,images/*/Dockerfile,images/*/image.yaml}';
export const DOCKER_ARCHES: readonly DockerArch[] = ['amd64', 'arm64'];

/** The subset of Nx's ProjectConfiguration this plugin produces (kept Nx-free for tests). */
export interface InferredProject {
  name: string;
  root: string;
  projectType: 'application' | 'library';
  tags: string[];
  implicitDependencies: string[];
  targets: Record<string, InferredTarget>;
  metadata?: Record<string, unknown>;
}

export interface InferredTarget {
  executor: string;
  options?: Record<string, unknown>;
  cache?: boolean;
  inputs?: unknown[];
  outputs?: string[];
  dependsOn?: unknown[];
  continuous?: boolean;
}

const TOOLING = 'hookTooling';

export interface InferenceContext {
  workspaceRoot: string;
  /** Docker arch of the machine running Nx: what `<image>:build` builds. */
  hostDockerArch: DockerArch;
  /** Shared between the files of one createNodes call. */
  cache?: Map<string, unknown>;
}

function cached<T>(ctx: InferenceContext, key: string, compute: () => T): T {
  if (!ctx.cache) return compute();
  if (!ctx.cache.has(key)) ctx.cache.set(key, compute());
  return ctx.cache.get(key) as T;
}

/** Image folders of the workspace: `images/<name>` with a Dockerfile or an image.yaml. */
export function imageFolders(ctx: InferenceContext): string[] {
  return cached(ctx, 'images', () => {
    const base = join(ctx.workspaceRoot, 'images');
    if (!existsSync(base)) return [];
    return readdirSync(base, { withFileTypes: true })
      .filter((d) => d.isDirectory() && (existsSync(join(base, d.name, 'Dockerfile')) || existsSync(join(base, d.name, 'image.yaml'))))
      .map((d) => d.name)
      .sort();
  });
}

/** Base images (image.yaml, no Dockerfile of ours) every Dockerfile image builds FROM. */
function baseImages(ctx: InferenceContext): string[] {
  return imageFolders(ctx).filter((name) => existsSync(join(ctx.workspaceRoot, 'images', name, 'image.yaml')));
}

function readKernel(ctx: InferenceContext, id: string): KernelDefinition | undefined {
  return cached(ctx, `kernel:${id}`, () => {
    const file = `kernel/${id}/kernel.yaml`;
    const path = join(ctx.workspaceRoot, file);
    return existsSync(path) ? parseKernelDefinition(readFileSync(path, 'utf8'), id, file) : undefined;
  });
}

export function inferFromFile(file: string, ctx: InferenceContext): InferredProject | undefined {
  const parts = file.split('/');
  if (parts.length !== 3) return undefined;
  const [dir, id, name] = parts;
  if (dir === 'flavors' && name === 'flavor.yaml') return flavorProject(ctx, id, file);
  if (dir === 'kernel' && name === 'kernel.yaml') return kernelProject(ctx, id);
  if (dir === 'images' && (name === 'Dockerfile' || name === 'image.yaml')) return imageProject(ctx, id);
  return undefined;
}

function flavorProject(ctx: InferenceContext, id: string, file: string): InferredProject {
  const flavor: Flavor = parseFlavor(readFileSync(join(ctx.workspaceRoot, file), 'utf8'), id, file);
  const kernelId = kernelIdOf(flavor);
  const kernel = readKernel(ctx, kernelId);
  if (!kernel) {
    throw new Error(`${file}: its kernel kernel/${kernelId}/kernel.yaml does not exist`);
  }
  const templateFile = templatePathOf(flavor);
  const templatePath = join(ctx.workspaceRoot, templateFile);
  if (!existsSync(templatePath)) throw new Error(`${file}: TEMPLATE '${flavor.TEMPLATE}' has no file ${templateFile}`);
  const images = cached(ctx, `template:${templateFile}`, () =>
    imagesOfTemplate(readFileSync(templatePath, 'utf8'), templateFile, imageFolders(ctx)),
  );
  const outputId = outputIdOf(flavor, kernel);
  const arch = dockerArchOf(flavor.ARCH);
  const kernelProject = kernelProjectName(kernelId);
  const dependsOn = [
    { target: 'build', projects: [kernelProject] },
    ...(images.length > 0 ? [{ target: `build-${arch}`, projects: images }] : []),
  ];
  const inputs = [
    'default',
    TOOLING,
    `{workspaceRoot}/${templateFile}`,
    // The kernel and images are in the hash through their metadata (sha256 of every file).
    { dependentTasksOutputFiles: '**/*.json', transitive: true },
    { env: 'HOOK_VERSION' },
    { env: 'SOURCE_DATE_EPOCH' },
    { env: 'HOOK_INITRAMFS_COMPRESSION' },
    { env: 'HOOK_INITRAMFS_LEVEL' },
    { env: 'OUTPUT_TARBALL_FILELIST' },
    // The linuxkit backend changes the initramfs. Not LINUXKIT_BIN: the build checks that the
    // binary is the flavor's LINUXKIT_VERSION (flavor.yaml is hashed), so its path does not matter.
    { env: 'HOOK_LINUXKIT_BACKEND' },
  ];
  const targets: Record<string, InferredTarget> = {
    build: {
      executor: `${PLUGIN}:linuxkit-build`,
      options: { flavor: id },
      cache: true,
      inputs,
      outputs: [
        `{workspaceRoot}/dist/hook/vmlinuz-${outputId}`,
        `{workspaceRoot}/dist/hook/initramfs-${outputId}`,
        `{workspaceRoot}/dist/hook/dtbs-${outputId}.tar.gz`,
        `{workspaceRoot}/dist/hook/hook_rootfs_${outputId}.tar`,
        `{workspaceRoot}/dist/hook/hook_rootfs_${outputId}.filelist`,
        `{workspaceRoot}/dist/hook/size-report-${outputId}.md`,
        `{workspaceRoot}/dist/hook_${outputId}.tar.gz`,
      ],
      dependsOn,
    },
    'run-qemu': {
      executor: `${PLUGIN}:qemu-run`,
      options: { flavor: id },
      cache: false,
      dependsOn: ['build'],
    },
  };
  if (flavor.SUPPORTS_ISO) {
    targets.iso = {
      executor: `${PLUGIN}:linuxkit-build`,
      options: { flavor: id, format: 'iso-efi-initrd' },
      cache: true,
      inputs,
      outputs: [`{workspaceRoot}/dist/hook/hook-${outputId}.iso`],
      dependsOn,
    };
  }
  if (flavor.BOOTABLES.length > 0) {
    targets['bootable-media'] = {
      executor: `${PLUGIN}:bootable-media`,
      options: { flavor: id },
      cache: false,
      dependsOn: ['build'],
    };
  }
  return {
    name: id,
    root: `flavors/${id}`,
    projectType: 'application',
    tags: ['hook:flavor', `arch:${arch}`, `kernel-method:${kernel.METHOD}`, ...flavor.TAG.map((t) => `ci:${t}`)],
    implicitDependencies: [kernelProject, ...images],
    targets,
    metadata: { description: flavor.DESCRIPTION, outputId, template: templateFile },
  };
}

function kernelProject(ctx: InferenceContext, id: string): InferredProject {
  const kernel = readKernel(ctx, id);
  if (!kernel) throw new Error(`kernel/${id}/kernel.yaml cannot be read`);
  const defconfig = defconfigPathOf(kernel);
  const inputs: unknown[] = ['default', TOOLING, { json: '{workspaceRoot}/kernel/versions.lock.json', fields: ['series', 'armbian', 'debian'] }];
  if (defconfig) {
    inputs.push(`{workspaceRoot}/${defconfig}`, '{workspaceRoot}/kernel/Dockerfile', { env: 'KERNEL_POINT_RELEASE' }, { env: 'KERNEL_BUILDER' }, { env: 'KERNEL_SOURCE' });
  }
  if (kernel.METHOD === 'armbian') inputs.push({ env: 'ARMBIAN_KERNEL_VERSION' }, { env: 'ARMBIAN_BASE_ORAS_REF' });
  if (kernel.METHOD === 'debian') inputs.push({ env: 'KERNEL_DEBIAN_SUITE' });
  inputs.push({ env: 'HOOK_KERNEL_OCI_BASE' }, { env: 'SOURCE_DATE_EPOCH' }, { env: 'KBUILD_BUILD_TIMESTAMP' });
  const targets: Record<string, InferredTarget> = {
    build: {
      executor: `${PLUGIN}:${kernel.METHOD === 'armbian' ? 'armbian-fetch' : 'kernel-build'}`,
      options: { kernel: id },
      cache: true,
      inputs,
      outputs: [`{workspaceRoot}/dist/kernels/${id}`],
    },
    'refresh-lock': {
      executor: `${PLUGIN}:kernel-lock`,
      options: { kernel: id },
      cache: false,
    },
    publish: {
      executor: `${PLUGIN}:kernel-publish`,
      options: { kernel: id },
      cache: false,
      dependsOn: ['build'],
    },
  };
  if (kernel.METHOD !== 'armbian') {
    targets.config = { executor: `${PLUGIN}:kernel-config`, options: { kernel: id, mode: 'menuconfig' }, cache: false };
    targets['config-shell'] = { executor: `${PLUGIN}:kernel-config`, options: { kernel: id, mode: 'shell' }, cache: false };
  }
  return {
    name: kernelProjectName(id),
    root: `kernel/${id}`,
    projectType: 'library',
    tags: ['hook:kernel', `arch:${dockerArchOf(kernel.ARCH)}`, `kernel-method:${kernel.METHOD}`],
    implicitDependencies: [],
    targets,
    metadata: { description: kernel.DESCRIPTION, defconfig },
  };
}

function imageProject(ctx: InferenceContext, name: string): InferredProject {
  const isBase = baseImages(ctx).includes(name);
  const dependencies = isBase ? [] : baseImages(ctx);
  const targets: Record<string, InferredTarget> = {};
  for (const arch of DOCKER_ARCHES) {
    targets[`build-${arch}`] = {
      executor: `${PLUGIN}:container-build`,
      options: { image: name, arch },
      cache: true,
      inputs: [
        'default',
        TOOLING,
        { dependentTasksOutputFiles: '**/image.json', transitive: true },
        { env: 'HOOK_LK_CONTAINERS_OCI_BASE' },
        { env: 'HOOK_DEBIAN_BASE_IMAGE' },
        { env: 'SOURCE_DATE_EPOCH' },
        // Publishing happens in the same task (the image is reused from dist/, then pushed or
        // exported): these make a cache hit from a run that did not publish run again.
        { env: 'DO_PUSH' },
        { env: 'EXPORT_LK_CONTAINERS' },
        { env: 'EXPORT_LK_CONTAINERS_DIR' },
      ],
      outputs: [`{workspaceRoot}/dist/images/${name}/${arch}`],
      dependsOn: dependencies.length > 0 ? [{ target: `build-${arch}`, projects: dependencies }] : [],
    };
  }
  targets.build = { executor: 'nx:noop', dependsOn: [`build-${ctx.hostDockerArch}`] };
  return {
    name,
    root: `images/${name}`,
    projectType: 'library',
    tags: ['hook:image', ...(isBase ? ['hook:base-image'] : [])],
    implicitDependencies: dependencies,
    targets,
  };
}
