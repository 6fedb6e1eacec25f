/** Builds a throwaway workspace with inventory files, for tests of everything that reads one. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function makeWorkspace(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'hook-inventory-'));
  const withTemplate = { 'linuxkit-templates/hook.template.yaml': 'kernel:\n  image: "${HOOK_KERNEL_IMAGE}"\n', ...files };
  for (const [path, content] of Object.entries(withTemplate)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

export const SOURCE_KERNEL = 'METHOD: default\nARCH: x86_64\nTYPE: source\nKERNEL_MAJOR: 6\nKERNEL_MINOR: 12\n';
