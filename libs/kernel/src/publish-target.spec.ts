import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkspace } from '@hook/inventory/testing';
import { publishKernelTarget } from './target';

const KERNEL = 'METHOD: debian\nARCH: x86_64\nDEBIAN_SUITE: trixie\n';

describe('publishKernelTarget', () => {
  it('names a kernel that is not built yet', async () => {
    const root = makeWorkspace({ 'kernel/k/kernel.yaml': KERNEL });
    await expect(publishKernelTarget({ workspaceRoot: root, kernelId: 'k', env: { DO_PUSH: 'yes' } })).rejects.toThrow(
      /^kernel k is not built \(no .*dist\/kernels\/k\/kernel.json\); run: npx nx run kernel-k:build$/,
    );
  });

  it('does nothing without DO_PUSH or EXPORT_KERNEL_IMAGE', async () => {
    const root = makeWorkspace({ 'kernel/k/kernel.yaml': KERNEL });
    mkdirSync(join(root, 'dist/kernels/k'), { recursive: true });
    writeFileSync(join(root, 'dist/kernels/k/kernel.json'), JSON.stringify({ id: 'k', image: 'example.test/k:1.2.3-abcdef01' }));
    await expect(publishKernelTarget({ workspaceRoot: root, kernelId: 'k', env: {} })).resolves.toBeUndefined();
  });
});
