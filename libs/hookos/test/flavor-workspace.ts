/**
 * A small flavor workspace with its dist/ inputs, for the flavor build's integration tests:
 * one kernel (`k`, x86_64) and one flavor using it, the given template, a kernel directory with
 * a module tree, and an OCI layout per image as the image projects leave them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { OciLayout } from '@hook/oci';
import { makeWorkspace } from '@hook/inventory/testing';
import { addImage, tarBuffer, type ImageSpec } from '../../linuxkit/test/images';

/** A small template: the kernel, one init image (hook-init), one service (svc), one file. */
export const FLAVOR_TEMPLATE = `kernel:
  image: "\${HOOK_KERNEL_IMAGE}"
  cmdline: "console=ttyS0"
init:
  - "\${HOOK_CONTAINER_INIT_IMAGE}"
services:
  - name: svc
    image: "\${HOOK_CONTAINER_SVC_IMAGE}"
    capabilities: [CAP_NET_ADMIN]
files:
  - path: etc/os-release
    mode: "0444"
    contents: |
      VERSION=\${HOOK_VERSION}
      KERNEL=\${HOOK_KERNEL_VERSION}
`;

export interface FlavorImage extends ImageSpec {
  /** Image project name, e.g. `hook-init`. */
  name: string;
  ref: string;
}

export async function flavorWorkspace(template: string, images: FlavorImage[], extraFiles: Record<string, string> = {}): Promise<string> {
  const root = makeWorkspace({
    'linuxkit-templates/hook.template.yaml': template,
    'kernel/k/kernel.yaml': 'METHOD: default\nARCH: x86_64\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 12\n',
    'flavors/k/flavor.yaml': 'ARCH: x86_64\nTAG: [standard]\n',
    ...Object.fromEntries(images.map((image) => [`images/${image.name}/Dockerfile`, 'FROM base\n'])),
    ...extraFiles,
  });
  const kernelDir = join(root, 'dist/kernels/k');
  await mkdir(kernelDir, { recursive: true });
  await writeFile(join(kernelDir, 'kernel'), Buffer.alloc(4096, 7));
  const dir = (name: string) => ({ name, type: 'directory' as const });
  await writeFile(
    join(kernelDir, 'kernel.tar'),
    await tarBuffer([dir('lib/'), dir('lib/modules/'), dir('lib/modules/6.12.9/'), { name: 'lib/modules/6.12.9/modules.dep', content: 'kernel/x.ko:\n' }, dir('lib/modules/6.12.9/kernel/'), { name: 'lib/modules/6.12.9/kernel/x.ko', content: 'module' }]),
  );
  await writeFile(join(kernelDir, 'dtbs.tar.gz'), gzipSync(await tarBuffer([])));
  await writeFile(join(kernelDir, 'kernel.json'), JSON.stringify({ version: '6.12.9', image: 'example.test/hook-kernel:6.12.9-abcdef01' }));
  for (const { name, ref, ...image } of images) {
    const layoutDir = join(root, 'dist/images', name, 'amd64');
    await addImage(await OciLayout.create(layoutDir), ref, image);
    await writeFile(join(layoutDir, 'image.json'), JSON.stringify({ name, ref }));
  }
  return root;
}
