import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import type { KernelMetadata } from './metadata';
import { sha256OfPath, verifyImageLayout, verifyKernelFiles, verifySha256Sums, writeSha256Sums } from './verify';

function workspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'hook-verify-'));
  mkdirSync(join(root, 'dist/hook'), { recursive: true });
  mkdirSync(join(root, 'dist/kernels/k'), { recursive: true });
  return root;
}

describe('SHA256SUMS of HookOS files', () => {
  it('passes intact files and names a corrupted one with the way out', async () => {
    const root = workspace();
    const initramfs = join(root, 'dist/hook/initramfs-x');
    writeFileSync(initramfs, Buffer.alloc(4096, 1));
    writeFileSync(join(root, 'dist/hook_x.tar.gz'), 'tarball');
    const sums = join(root, 'dist/hook/SHA256SUMS-x');
    await writeSha256Sums(sums, [initramfs, join(root, 'dist/hook_x.tar.gz')]);
    expect(await verifySha256Sums(root, sums, 'k:build')).toHaveLength(2);

    const bytes = Buffer.alloc(4096, 1);
    bytes.write('corrupted bytes', 100);
    writeFileSync(initramfs, bytes);
    await expect(verifySha256Sums(root, sums, 'k:build')).rejects.toThrow(
      new UserError(
        "dist/hook/initramfs-x does not match the sha256 recorded in dist/hook/SHA256SUMS-x (a corrupted cache entry or a changed file): run npx nx run k:build --skip-nx-cache to rebuild it, or remove that entry from Nx's cache (npx nx reset)",
      ),
    );
  });

  it('a missing sums file is one line too', async () => {
    const root = workspace();
    await expect(verifySha256Sums(root, join(root, 'dist/hook/SHA256SUMS-x'), 'k:build')).rejects.toThrow(
      "dist/hook/SHA256SUMS-x is missing, so SHA256SUMS-x's files cannot be checked: run npx nx run k:build --skip-nx-cache",
    );
  });
});

describe('kernel files against kernel.json', () => {
  it('names the corrupted kernel file', async () => {
    const root = workspace();
    const kernelFile = join(root, 'dist/kernels/k/kernel');
    writeFileSync(kernelFile, Buffer.alloc(1024, 7));
    const metadata = { id: 'k', files: { kernel: { sha256: await sha256OfPath(kernelFile), size: 1024 } } } as unknown as KernelMetadata;
    await verifyKernelFiles(root, metadata);
    writeFileSync(kernelFile, Buffer.concat([Buffer.alloc(1000, 7), Buffer.alloc(24, 0)]));
    await expect(verifyKernelFiles(root, metadata)).rejects.toThrow(
      'dist/kernels/k/kernel does not match the sha256 recorded in dist/kernels/k/kernel.json (a corrupted cache entry or a changed file): run npx nx run kernel-k:build --skip-nx-cache',
    );
  });
});

describe('OCI layout blobs in dist/', () => {
  it('names a blob whose bytes do not match its digest', async () => {
    const root = workspace();
    const blobs = join(root, 'dist/images/svc/amd64/blobs/sha256');
    mkdirSync(blobs, { recursive: true });
    const layer = Buffer.alloc(2048, 3);
    const hex = require('node:crypto').createHash('sha256').update(layer).digest('hex');
    writeFileSync(join(blobs, hex), layer);
    expect(await verifyImageLayout(root, join(root, 'dist/images/svc/amd64'), 'svc:build-amd64')).toBe(1);
    layer.write('corrupted bytes', 500);
    writeFileSync(join(blobs, hex), layer);
    await expect(verifyImageLayout(root, join(root, 'dist/images/svc/amd64'), 'svc:build-amd64')).rejects.toThrow(
      `dist/images/svc/amd64/blobs/sha256/${hex} does not match its sha256 (a corrupted cache entry or a changed file): run npx nx run svc:build-amd64 --skip-nx-cache`,
    );
  });
});
