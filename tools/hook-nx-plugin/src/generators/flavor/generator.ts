/**
 * `nx g @hook/nx-plugin:flavor <id> --kernel <kernel-id>`: adds flavors/<id>/flavor.yaml, the
 * successor of upstream's produce_custom_kernel_inventory hook. The result is validated with
 * the same rules as every flavor, so a generated flavor always loads.
 */
import { formatFiles, type Tree } from '@nx/devkit';
import { stringify } from 'yaml';
import { UserError } from '@hook/log';
import { parseFlavor, parseKernelDefinition, suggest } from '@hook/inventory';
import type { FlavorGeneratorSchema } from './schema';

export function flavorYaml(options: FlavorGeneratorSchema, kernelArch: string): string {
  const fields: Record<string, unknown> = {};
  if (options.description) fields.DESCRIPTION = options.description;
  fields.ARCH = options.arch ?? kernelArch;
  fields.TAG = (options.tags ?? 'custom').split(/\s+/).filter(Boolean);
  if (options.iso) fields.SUPPORTS_ISO = true;
  if (options.template && options.template !== 'hook') fields.TEMPLATE = options.template;
  if (options.kernel !== options.id) fields.USE_KERNEL_ID = options.kernel;
  return stringify(fields, { flowCollectionPadding: false });
}

export default async function flavorGenerator(tree: Tree, options: FlavorGeneratorSchema) {
  const { id, kernel } = options;
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(id)) {
    throw new UserError(`Invalid flavor id '${id}': use lowercase letters, digits, '.', '_' and '-'`);
  }
  const file = `flavors/${id}/flavor.yaml`;
  if (tree.exists(file)) throw new UserError(`${file} already exists`);
  const kernelFile = `kernel/${kernel}/kernel.yaml`;
  if (!tree.exists(kernelFile)) {
    const kernels = tree.children('kernel').filter((k) => tree.exists(`kernel/${k}/kernel.yaml`));
    const hint = suggest(kernel, kernels);
    throw new UserError(`Unknown kernel '${kernel}'${hint ? ` (did you mean ${hint}?)` : ''}; valid ones are: ${kernels.join(' ')}`);
  }
  const kernelDefinition = parseKernelDefinition(tree.read(kernelFile, 'utf-8') ?? '', kernel, kernelFile);
  if (options.arch && options.arch !== kernelDefinition.ARCH) {
    throw new UserError(`--arch ${options.arch} does not match kernel ${kernel}, which is ${kernelDefinition.ARCH}`);
  }
  const template = options.template ?? 'hook';
  if (!tree.exists(`linuxkit-templates/${template}.template.yaml`)) {
    throw new UserError(`Unknown template '${template}': there is no linuxkit-templates/${template}.template.yaml`);
  }
  const text = flavorYaml(options, kernelDefinition.ARCH);
  parseFlavor(text, id, file);
  tree.write(file, text);
  await formatFiles(tree);
}
