/**
 * @hook/sbom: CycloneDX 1.6 JSON documents (software bills of materials) for every build output:
 * container images, kernels and HookOS. Plain TypeScript, no Nx; the format is the OWASP
 * CycloneDX library's (models, serialiser, schema validation).
 */
export * from './document';
export * from './dpkg';
export * from './image-files';
export * from './image-sbom';
export * from './kernel-sbom';
export * from './hookos-sbom';
export * from './media-sbom';
