/**
 * Project inference: one Nx project per flavor (flavors/<id>/flavor.yaml), per kernel
 * definition (kernel/<id>/kernel.yaml) and per image folder (the rule of @hook/layout: a
 * Dockerfile, or an image.yaml for a base image). Every target says what it does
 * (metadata.description, shown by `nx show project`). The edges between projects come from
 * the files (dependencies.ts); the targets' dependsOn and inputs follow them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import {
  BUILD_TARGET_FILES,
  DOCKER_ARCHES,
  ISO_TARGET_FILES,
  imageDir,
  imageNames,
  kernelDir,
  nxOutput,
  type DockerArch,
  type HookosFiles,
} from '@hook/layout';
import {
  defconfigPathOf,
  dockerArchOf,
  DEBUG_SSH_FRAGMENT,
  flavorImages,
  kernelIdOf,
  kernelProjectName,
  mediaFilesOf,
  parseFlavor,
  parseKernelDefinition,
  resolveParsedFlavor,
  templatePathOf,
  type Flavor,
  type KernelDefinition,
} from '@hook/inventory';
import { envInputs } from '@hook/settings';

export const PLUGIN = '@hook/nx-plugin';
export const PROJECT_FILES_GLOB = '{flavors/*/flavor.yaml,kernel/*/kernel.yaml,images/*/Dockerfile,images/*/image.yaml}';
export { DOCKER_ARCHES };

/** The subset of Nx's ProjectConfiguration this plugin produces (kept Nx-free for tests). */
export interface InferredProject {
  name: string;
  root: string;
  projectType: 'application' | 'library';
  tags: string[];
  targets: Record<string, InferredTarget>;
  metadata: { description: string } & Record<string, unknown>;
}

export interface InferredTarget {
  executor: string;
  options?: Record<string, unknown>;
  configurations?: Record<string, Record<string, unknown>>;
  cache?: boolean;
  inputs?: unknown[];
  outputs?: string[];
  dependsOn?: unknown[];
  /** Always set (false unless the target is a long-running one): see inferFromFile. */
  continuous?: boolean;
  metadata: { description: string; technologies?: string[] };
}

/**
 * The named inputs (nx.json) holding the plugin and the libraries each kind of target runs:
 * a change to a library only re-runs the targets that execute it (tooling-inputs.spec.ts
 * checks these lists against the libraries' imports).
 */
export const TOOLING_INPUTS = {
  kernel: 'hookKernelTooling',
  image: 'hookImageTooling',
  flavor: 'hookFlavorTooling',
  bootable: 'hookBootableTooling',
} as const;

export interface InferenceContext {
  workspaceRoot: string;
  /** Docker arch of the machine running Nx: what `<image>:build` and the kernel builder use. */
  hostDockerArch: DockerArch;
  /** Shared between the files of one createNodes call. */
  cache?: Map<string, unknown>;
}

function cached<T>(ctx: InferenceContext, key: string, compute: () => T): T {
  if (!ctx.cache) return compute();
  if (!ctx.cache.has(key)) ctx.cache.set(key, compute());
  return ctx.cache.get(key) as T;
}

/** Image folders of the workspace (the one rule, in @hook/layout). */
export function imageFolders(ctx: InferenceContext): string[] {
  return cached(ctx, 'images', () => imageNames(ctx.workspaceRoot));
}

/** Base images (image.yaml, no Dockerfile of ours) every Dockerfile image builds FROM. */
export function baseImages(ctx: InferenceContext): string[] {
  return cached(ctx, 'base-images', () => imageNames(ctx.workspaceRoot, 'base'));
}

export function readKernel(ctx: InferenceContext, id: string): KernelDefinition | undefined {
  return cached(ctx, `kernel:${id}`, () => {
    const file = `kernel/${id}/kernel.yaml`;
    const path = join(ctx.workspaceRoot, file);
    return existsSync(path) ? parseKernelDefinition(readFileSync(path, 'utf8'), id, file) : undefined;
  });
}

/** A kernel compiled from source runs make in the kernel builder image, FROM the Debian base. */
export function usesKernelBuilder(kernel: KernelDefinition): boolean {
  return kernel.METHOD === 'default';
}

export interface FlavorFacts {
  flavor: Flavor;
  kernel: KernelDefinition;
  templateFile: string;
  images: string[];
}

/** The flavor's kernel and the images its template names, with user errors for broken links. */
export function readFlavor(ctx: InferenceContext, id: string): FlavorFacts {
  return cached(ctx, `flavor:${id}`, () => {
    const file = `flavors/${id}/flavor.yaml`;
    const flavor = parseFlavor(readFileSync(join(ctx.workspaceRoot, file), 'utf8'), id, file);
    const kernelId = kernelIdOf(flavor);
    const kernel = readKernel(ctx, kernelId);
    if (!kernel) {
      throw new UserError(`${file}: its kernel kernel/${kernelId}/kernel.yaml does not exist; set USE_KERNEL_ID to one of the folders of kernel/, or add that kernel`);
    }
    const templateFile = templatePathOf(flavor);
    const templatePath = join(ctx.workspaceRoot, templateFile);
    if (!existsSync(templatePath)) {
      throw new UserError(`${file}: TEMPLATE '${flavor.TEMPLATE}' has no file ${templateFile}; use the name of a file linuxkit-templates/<name>.template.yaml`);
    }
    // With the debug fragment's images (sshd): HOOK_DEBUG_SSH then needs nothing built first.
    const images = cached(ctx, `template:${templateFile}`, () => flavorImages(ctx.workspaceRoot, readFileSync(templatePath, 'utf8'), templateFile, imageFolders(ctx)));
    return { flavor, kernel, templateFile, images };
  });
}

export function inferFromFile(file: string, ctx: InferenceContext): InferredProject | undefined {
  const project = inferProject(file, ctx);
  if (project) {
    // Said explicitly: for a target without `continuous`, Nx reads its executor's schema.json
    // while building the graph, and for this workspace-local package it first loads TypeScript
    // to read tsconfig.base.json's customConditions (a quarter of a second of every command).
    for (const target of Object.values(project.targets)) target.continuous ??= false;
  }
  return project;
}

function inferProject(file: string, ctx: InferenceContext): InferredProject | undefined {
  const parts = file.split('/');
  if (parts.length !== 3) return undefined;
  const [dir, id, name] = parts;
  if (dir === 'flavors' && name === 'flavor.yaml') return flavorProject(ctx, id);
  if (dir === 'kernel' && name === 'kernel.yaml') return kernelProject(ctx, id);
  if (dir === 'images' && (name === 'Dockerfile' || name === 'image.yaml') && imageFolders(ctx).includes(id)) return imageProject(ctx, id);
  return undefined;
}

function outputsOf(files: HookosFiles, names: readonly (keyof HookosFiles)[]): string[] {
  return names.map((name) => nxOutput(files[name]));
}

function flavorProject(ctx: InferenceContext, id: string): InferredProject {
  const { flavor, kernel, templateFile, images } = readFlavor(ctx, id);
  const { outputId, files } = resolveParsedFlavor(flavor, kernel);
  const arch = dockerArchOf(flavor.ARCH);
  const kernelProject = kernelProjectName(kernel.id);
  const dependsOn = [
    { target: 'build', projects: [kernelProject] },
    ...(images.length > 0 ? [{ target: `build-${arch}`, projects: images }] : []),
  ];
  const inputs = [
    'default',
    TOOLING_INPUTS.flavor,
    `{workspaceRoot}/${templateFile}`,
    // The kernel and images are in the hash through their metadata (sha256 of every file).
    { dependentTasksOutputFiles: '**/*.json', transitive: true },
    // HOOK_VERSION, compression, budgets, the backend, HOOK_DEBUG_SSH... (@hook/settings). Not
    // LINUXKIT_BIN: the build checks that the binary is the flavor's LINUXKIT_VERSION (flavor.yaml
    // is hashed), so its path does not matter.
    ...envInputs('flavor'),
    // Size budgets: the flavor's own (size-budget.yaml, in 'default') and the images' (issue 12).
    '{workspaceRoot}/images/size-budgets.yaml',
    // A debug build with sshd: the debug fragment and the keys file's contents.
    `{workspaceRoot}/${DEBUG_SSH_FRAGMENT}`,
    { runtime: 'if [ -n "$HOOK_DEBUG_SSH" ]; then sha256sum < "$HOOK_DEBUG_SSH"; fi 2>&1' },
  ];
  const targets: Record<string, InferredTarget> = {
    build: {
      executor: `${PLUGIN}:linuxkit-build`,
      options: { flavor: id },
      // `:build:dev`: the development level, seconds after a change instead of the release level's minutes.
      configurations: { dev: { initramfs: 'development' } },
      cache: true,
      inputs,
      outputs: outputsOf(files, BUILD_TARGET_FILES),
      dependsOn,
      metadata: {
        description: `Assembles HookOS from ${templateFile} with kernel ${kernel.id} and ${images.length} ${arch} images: ${files.vmlinuz}, ${files.initramfs} and ${files.releaseTarball}`,
        technologies: ['linuxkit'],
      },
    },
    'run-qemu': {
      executor: `${PLUGIN}:qemu-run`,
      options: { flavor: id },
      cache: false,
      dependsOn: ['build'],
      metadata: { description: `Boots the built ${id} in QEMU (UEFI, 2 CPUs, 2 GB) with its serial console on this terminal; Ctrl-A X quits`, technologies: ['qemu'] },
    },
  };
  if (flavor.SUPPORTS_ISO) {
    targets.iso = {
      executor: `${PLUGIN}:linuxkit-build`,
      options: { flavor: id, format: 'iso-efi-initrd' },
      cache: true,
      inputs: [...inputs, ...envInputs('iso')],
      outputs: outputsOf(files, ISO_TARGET_FILES),
      dependsOn,
      metadata: { description: `Writes the EFI ISO ${files.iso} (kernel, initramfs, GRUB)`, technologies: ['linuxkit'] },
    };
  }
  for (const bootable of flavor.BOOTABLES) {
    // One cached target per bootable: its media (one per board) from the flavor's build.
    const media = mediaFilesOf(bootable, outputId);
    targets[`bootable-${bootable.ID}`] = {
      executor: `${PLUGIN}:bootable-media`,
      options: { flavor: id, bootable: bootable.ID },
      cache: true,
      inputs: [
        'default',
        TOOLING_INPUTS.bootable,
        // The flavor's files through the sha256s its build recorded (not 100 MB of hashing).
        { dependentTasksOutputFiles: '**/SHA256SUMS-*' },
        // TINK_*, BOARD, GRUB's and the handler's own settings (@hook/settings).
        ...envInputs('bootable', bootable.HANDLER),
        // GRUB's EFI image comes from the host's grub-mkimage and modules of its version.
        { runtime: 'grub-mkimage --version 2>/dev/null || true' },
      ],
      outputs: media.map(nxOutput),
      dependsOn: ['build'],
      metadata: { description: `Writes ${bootable.ID}'s disk image for each board (BOARD= chooses): ${media.join(', ')}` },
    };
  }
  return {
    name: id,
    root: `flavors/${id}`,
    projectType: 'application',
    tags: ['hook:flavor', `arch:${arch}`, `kernel-method:${kernel.METHOD}`, ...flavor.TAG.map((t) => `ci:${t}`)],
    targets,
    metadata: { description: flavor.DESCRIPTION ?? `HookOS flavor ${id} (${flavor.ARCH})`, outputId, template: templateFile, kernel: kernel.id, images },
  };
}

function kernelProject(ctx: InferenceContext, id: string): InferredProject {
  const kernel = readKernel(ctx, id);
  if (!kernel) throw new UserError(`kernel/${id}/kernel.yaml cannot be read`);
  const defconfig = defconfigPathOf(kernel);
  const inputs: unknown[] = ['default', TOOLING_INPUTS.kernel, { json: '{workspaceRoot}/kernel/versions.lock.json', fields: ['series', 'armbian', 'debian'] }];
  const dependsOn: unknown[] = [];
  const bases = usesKernelBuilder(kernel) ? baseImages(ctx) : [];
  if (defconfig) {
    inputs.push(`{workspaceRoot}/${defconfig}`, '{workspaceRoot}/kernel/Dockerfile');
  }
  if (bases.length > 0) {
    // The kernel builder image is FROM the Debian base: its recipe and its tag (image.json,
    // written by debian-base:build-<host arch>) are in the hash, so a new toolchain rebuilds.
    inputs.push({ input: 'default', projects: bases }, { dependentTasksOutputFiles: '**/image.json', transitive: true });
    dependsOn.push({ target: `build-${ctx.hostDockerArch}`, projects: bases });
  }
  // Every kernel's settings and its method's (USE_LATEST_BUILT_KERNEL, KERNEL_POINT_RELEASE...
  // for a compiled one; ARMBIAN_KERNEL_VERSION for Armbian's): @hook/settings.
  inputs.push(...envInputs('kernel', kernel.METHOD));
  const how =
    kernel.METHOD === 'armbian'
      ? `Fetches Armbian's ${kernel.ARMBIAN_KERNEL_ARTIFACT} kernel`
      : kernel.METHOD === 'debian'
        ? `Extracts Debian's ${kernel.DEBIAN_PACKAGE} (${kernel.DEBIAN_SUITE}) kernel`
        : `Compiles Linux ${kernel.KERNEL_MAJOR}.${kernel.KERNEL_MINOR}.y with ${defconfig} (in the kernel builder image FROM the Debian base, or on the host)`;
  const out = kernelDir(id);
  const targets: Record<string, InferredTarget> = {
    build: {
      executor: `${PLUGIN}:${kernel.METHOD === 'armbian' ? 'armbian-fetch' : 'kernel-build'}`,
      options: { kernel: id },
      cache: true,
      inputs,
      outputs: [nxOutput(out)],
      dependsOn,
      metadata: { description: `${how} into ${out} (kernel, kernel.tar of modules, dtbs.tar.gz, kernel.json)` },
    },
    'refresh-lock': {
      executor: `${PLUGIN}:kernel-lock`,
      options: { kernel: id },
      cache: false,
      metadata: { description: `Resolves this kernel's version again and writes it to kernel/versions.lock.json` },
    },
    'check-config': {
      executor: `${PLUGIN}:kernel-check`,
      options: { kernel: id },
      cache: false,
      metadata: { description: `Checks this kernel's config against kernel/configs/required.yaml and Docker's check-config.sh, without compiling` },
    },
    publish: {
      executor: `${PLUGIN}:kernel-publish`,
      options: { kernel: id },
      cache: false,
      dependsOn: ['build'],
      metadata: { description: `Pushes ${out} as a kernel OCI image (DO_PUSH=yes) or exports it (EXPORT_KERNEL_IMAGE=yes)`, technologies: ['docker'] },
    },
  };
  if (kernel.METHOD === 'default') {
    targets.config = {
      executor: `${PLUGIN}:kernel-config`,
      options: { kernel: id, mode: 'menuconfig' },
      cache: false,
      metadata: { description: `Runs menuconfig on ${defconfig}, then savedefconfig back into it (needs a terminal)` },
    };
    targets['config-shell'] = {
      executor: `${PLUGIN}:kernel-config`,
      options: { kernel: id, mode: 'shell' },
      cache: false,
      metadata: { description: 'Opens a shell in the kernel build environment, in the configured source tree (needs a terminal)' },
    };
  }
  return {
    name: kernelProjectName(id),
    root: `kernel/${id}`,
    projectType: 'library',
    tags: ['hook:kernel', `arch:${dockerArchOf(kernel.ARCH)}`, `kernel-method:${kernel.METHOD}`],
    targets,
    metadata: { description: kernel.DESCRIPTION ?? `Kernel ${id} (${kernel.METHOD}, ${kernel.ARCH})`, defconfig },
  };
}

function imageProject(ctx: InferenceContext, name: string): InferredProject {
  const isBase = baseImages(ctx).includes(name);
  const dependencies = isBase ? [] : baseImages(ctx);
  const targets: Record<string, InferredTarget> = {};
  for (const arch of DOCKER_ARCHES) {
    const out = imageDir(name, arch);
    targets[`build-${arch}`] = {
      executor: `${PLUGIN}:container-build`,
      options: { image: name, arch },
      cache: true,
      inputs: [
        'default',
        TOOLING_INPUTS.image,
        { dependentTasksOutputFiles: '**/image.json', transitive: true },
        // The registry base, the Debian base image, and publishing, which happens in the same
        // task (DO_PUSH, EXPORT_LK_CONTAINERS: a cache hit from a run that did not publish runs
        // again): @hook/settings.
        ...envInputs('image'),
      ],
      outputs: [nxOutput(out)],
      dependsOn: dependencies.length > 0 ? [{ target: `build-${arch}`, projects: dependencies }] : [],
      metadata: {
        description: isBase
          ? `Makes the Debian base for ${arch} (engine, published tag, registry image, or mmdebstrap from the host's mirror) into ${out} as an OCI layout with image.json`
          : `Builds (or reuses, or pulls) images/${name} for ${arch} FROM ${dependencies.join(', ')} into ${out} as an OCI layout with image.json`,
        technologies: ['docker'],
      },
    };
  }
  targets.build = {
    executor: 'nx:noop',
    dependsOn: [`build-${ctx.hostDockerArch}`],
    metadata: { description: `Builds the image for this machine's architecture (build-${ctx.hostDockerArch})` },
  };
  return {
    name,
    root: `images/${name}`,
    // A Dockerfile image is a deliverable (HookOS runs it, DO_PUSH publishes it); the base is
    // what other images are built from.
    projectType: isBase ? 'library' : 'application',
    tags: ['hook:image', ...DOCKER_ARCHES.map((arch) => `arch:${arch}`), ...(isBase ? ['hook:base-image'] : [])],
    targets,
    metadata: {
      description: isBase ? `The Debian base every image and the kernel builder start FROM (images/${name}/image.yaml)` : `LinuxKit container image images/${name}, for amd64 and arm64`,
    },
  };
}
