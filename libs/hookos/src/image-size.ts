/** An image's size as its dist/ OCI layout stores it: config plus layers (image.json's `size`). */
import { OciLayout } from '@hook/oci';

export async function imageSizes(images: { name: string; dir: string; ref: string }[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const { name, dir, ref } of images) {
    const resolved = await (await OciLayout.open(dir)).resolveImage(ref);
    sizes.set(name, resolved.manifest.config.size + resolved.layers.reduce((sum, layer) => sum + layer.size, 0));
  }
  return sizes;
}
