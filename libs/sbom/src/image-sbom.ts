/**
 * The document of one container image (dist/images/<name>/<arch>/sbom.cdx.json): the image by
 * its manifest digest, the Debian packages its files come from (name, version, architecture,
 * source package, from dpkg's database), and every regular file it holds with its sha256, each
 * under the package that installed it, or at the top when no package did (Hook's own scripts).
 */
import { PackageURL } from 'packageurl-js';
import { parseImageReference } from '@hook/oci';
import type { ImageMetadata } from '@hook/layout';
import { Enums, Models, hookProperties, newBom, sha256Hashes } from './document';
import { mergedUsrPath, type DebianPackage, type DpkgDatabase } from './dpkg';
import type { ImageFile } from './image-files';

/** Where the package information comes from. */
export type PackageSource =
  /** The dpkg database of the Dockerfile's builder stage: the packages the copied files come from. */
  | 'builder-stage'
  /** The image's own dpkg database (the Debian base): every installed package. */
  | 'image'
  /** None: the image was pulled or reused, not built here, so its builder stage is unknown. */
  | 'unknown';

export interface ImageBomInput {
  metadata: ImageMetadata;
  files: ImageFile[];
  dpkg?: DpkgDatabase;
  packageSource: PackageSource;
}

/** `pkg:deb/debian/<name>@<version>?arch=<arch>` */
export function debianPurl(pkg: DebianPackage): string {
  return new PackageURL('deb', 'debian', pkg.name, pkg.version, { arch: pkg.architecture }, undefined).toString();
}

/** `pkg:oci/<name>@<digest>?arch=..&repository_url=..&tag=..` */
export function ociPurl(ref: string, digest: string, arch: string): string {
  const parsed = parseImageReference(ref);
  const repository = `${parsed.domain}/${parsed.path}`;
  const name = repository.replace(/^.*\//, '');
  return new PackageURL('oci', undefined, name, digest, { arch, repository_url: repository, ...(parsed.tag ? { tag: parsed.tag } : {}) }, undefined).toString();
}

/** The image as a component; image.json written by older builds may lack the digest. */
export function imageComponent(metadata: ImageMetadata, bomRef: string): Models.Component {
  const digest = metadata.digest as string | undefined;
  return new Models.Component(Enums.ComponentType.Container, metadata.name, {
    bomRef,
    version: metadata.tag,
    purl: digest ? ociPurl(metadata.ref, digest, metadata.arch) : undefined,
    hashes: digest ? sha256Hashes(digest.replace(/^sha256:/, '')) : undefined,
    properties: hookProperties({ 'image:ref': metadata.ref, 'image:id': metadata.imageId, 'image:platform': metadata.platform, 'image:content-hash': metadata.hash }),
  });
}

function packageComponent(pkg: DebianPackage, key: string): Models.Component {
  return new Models.Component(Enums.ComponentType.Library, pkg.name, {
    bomRef: `deb:${key}`,
    version: pkg.version,
    purl: debianPurl(pkg),
    properties: hookProperties({ 'deb:architecture': pkg.architecture, 'deb:source': pkg.source, 'deb:source-version': pkg.sourceVersion }),
  });
}

function fileComponent(file: ImageFile): Models.Component {
  return new Models.Component(Enums.ComponentType.File, `/${file.path}`, {
    bomRef: `file:/${file.path}`,
    hashes: sha256Hashes(file.sha256),
    properties: hookProperties({ 'file:size': file.size }),
  });
}

export function imageBom(input: ImageBomInput): Models.Bom {
  const { metadata, files, dpkg, packageSource } = input;
  const subject = imageComponent(metadata, `image:${metadata.name}`);
  subject.properties.add(new Models.Property('hook:packages:source', packageSource));
  const bom = newBom(subject);
  const packages = new Map<string, Models.Component>();
  const packageOf = (key: string) => {
    let component = packages.get(key);
    if (!component) {
      component = packageComponent(dpkg!.packages.get(key)!, key);
      packages.set(key, component);
      bom.components.add(component);
      subject.dependencies.add(component.bomRef);
    }
    return component;
  };
  // The Debian base lists every installed package, also those that installed no regular file.
  if (dpkg && packageSource === 'image') for (const key of dpkg.packages.keys()) packageOf(key);
  for (const file of files) {
    const owner = dpkg?.owners.get(mergedUsrPath(file.path));
    if (owner !== undefined) packageOf(owner).components.add(fileComponent(file));
    else bom.components.add(fileComponent(file));
  }
  return bom;
}
