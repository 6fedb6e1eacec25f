/**
 * The document of a boot medium made from a HookOS build (the EFI ISO, a bootable disk image):
 * the medium's own hash, the files on it, the Debian packages it carries besides HookOS (GRUB,
 * board firmware) and a BOM-Link to the HookOS document that describes the kernel, modules and
 * images inside.
 */
import { Enums, Models, hookProperties, newBom, sha256Hashes } from './document';
import type { HookosFile } from './hookos-sbom';
import { debianPurl } from './image-sbom';

export type MediumKind = 'iso' | 'disk-image';

/** Something a medium carries besides HookOS: a Debian package (GRUB, firmware) or another artifact (a board's u-boot). */
export interface MediumPackage {
  name: string;
  version: string;
  /** Debian architecture; with no purl given, the component gets a Debian purl. */
  architecture?: string;
  purl?: string;
  /** Where it came from, when that is not Debian (e.g. an OCI reference). */
  source?: string;
}

export interface MediumBomInput {
  kind: MediumKind;
  /** The medium as dist/ names it, with its hash. */
  medium: HookosFile;
  flavorId: string;
  outputId: string;
  /** HOOK_VERSION. */
  version: string;
  arch: string;
  /** The HookOS document of the same build (its serial number makes the link). */
  hookosBomJson: string;
  /** The files on the medium (path as on the medium, e.g. `EFI/BOOT/BOOTX64.EFI`). */
  files: HookosFile[];
  /** What the medium's other files come from (GRUB, firmware, u-boot). */
  packages: MediumPackage[];
  properties?: Record<string, string | number | undefined>;
}

/** `urn:cdx:<serial>/<version>#<bom-ref>`: CycloneDX's BOM-Link to a component of another document. */
export function bomLink(bomJson: string, bomRef?: string): string {
  const doc = JSON.parse(bomJson) as { serialNumber?: string; version?: number };
  if (!doc.serialNumber?.startsWith('urn:uuid:')) throw new Error('the linked document has no urn:uuid serial number');
  return `urn:cdx:${doc.serialNumber.slice('urn:uuid:'.length)}/${doc.version ?? 1}${bomRef ? `#${encodeURIComponent(bomRef)}` : ''}`;
}

export function mediumBom(input: MediumBomInput): Models.Bom {
  const subject = new Models.Component(Enums.ComponentType.File, input.medium.name, {
    bomRef: `medium:${input.medium.name}`,
    version: input.version,
    hashes: sha256Hashes(input.medium.sha256),
    properties: hookProperties({
      'medium:kind': input.kind,
      'file:size': input.medium.size,
      'hookos:output-id': input.outputId,
      'hookos:arch': input.arch,
      ...input.properties,
    }),
  });
  const bom = newBom(subject);

  const hookosRef = `hookos:${input.flavorId}`;
  const hookos = new Models.Component(Enums.ComponentType.OperatingSystem, input.flavorId, {
    bomRef: hookosRef,
    version: input.version,
    externalReferences: new Models.ExternalReferenceRepository([
      new Models.ExternalReference(bomLink(input.hookosBomJson, hookosRef), Enums.ExternalReferenceType.BOM, {
        comment: 'the HookOS document of this build: kernel, modules and container images',
      }),
    ]),
  });
  bom.components.add(hookos);
  subject.dependencies.add(hookos.bomRef);

  for (const file of input.files) {
    const component = new Models.Component(Enums.ComponentType.File, file.name, {
      bomRef: `file:${file.name}`,
      hashes: sha256Hashes(file.sha256),
      properties: hookProperties({ 'file:size': file.size }),
    });
    bom.components.add(component);
    subject.dependencies.add(component.bomRef);
  }
  for (const pkg of input.packages) {
    const purl = pkg.purl ?? (pkg.architecture ? debianPurl({ name: pkg.name, version: pkg.version, architecture: pkg.architecture }) : undefined);
    const component = new Models.Component(Enums.ComponentType.Application, pkg.name, {
      bomRef: `package:${pkg.name}:${pkg.architecture ?? pkg.version}`,
      version: pkg.version,
      purl,
      properties: hookProperties({ 'deb:architecture': pkg.architecture, 'package:source': pkg.source }),
    });
    bom.components.add(component);
    subject.dependencies.add(component.bomRef);
  }
  return bom;
}
