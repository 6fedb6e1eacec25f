/**
 * build.sh's command line: `hook [command] [flavor-id] [KEY=VALUE ...]`. Any argument with
 * `=` is a parameter, in any position; its name must be a valid shell variable name. Empty
 * arguments are ignored.
 */
import { UserError } from '@hook/log';

export interface ParsedArgs {
  positional: string[];
  params: Record<string, string>;
  flags: Set<string>;
}

const PARAM_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const params: Record<string, string> = {};
  const flags = new Set<string>();
  for (const arg of argv) {
    if (arg === '') continue;
    if (arg.startsWith('--') || arg === '-h') {
      flags.add(arg === '-h' ? '--help' : arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      // Upstream takes the text after the last '='; the first is what people mean (A=b=c -> b=c).
      const name = arg.slice(0, eq);
      const value = arg.slice(eq + 1);
      if (!PARAM_NAME.test(name)) {
        throw new UserError(
          `Invalid command line parameter '${name}=${value || '(empty)'}': the name must be a valid variable name (letters, digits, _; not starting with a digit)`,
          8,
        );
      }
      params[name] = value;
      continue;
    }
    positional.push(arg);
  }
  return { positional, params, flags };
}

export type CommandName =
  | 'build'
  | 'kernel'
  | 'config'
  | 'config-shell'
  | 'run-qemu'
  | 'serve'
  | 'gha-matrix'
  | 'linuxkit-containers'
  | 'bootable-media'
  | 'lint'
  | 'list'
  | 'kernel-lock'
  | 'kernel-check'
  | 'graph'
  | 'hardware'
  | 'settings'
  | 'clean'
  | 'help';

export interface CommandSpec {
  name: CommandName;
  aliases: string[];
  /** Whether the second argument is a flavor id (defaulted to hook-default-<host arch>). */
  takesFlavor: boolean;
  summary: string;
}

export const COMMANDS: CommandSpec[] = [
  { name: 'build', aliases: ['build', 'linuxkit'], takesFlavor: true, summary: 'build HookOS for a flavor: dist/hook/vmlinuz-*, initramfs-*, dist/hook_*.tar.gz' },
  { name: 'kernel', aliases: ['kernel', 'kernel-build', 'build-kernel'], takesFlavor: true, summary: "build (or fetch) the flavor's kernel into dist/kernels/<kernel-id>" },
  { name: 'kernel-check', aliases: ['kernel-check', 'check-kernel-config'], takesFlavor: true, summary: "check the flavor kernel's config against kernel/configs/required.yaml (no compile)" },
  { name: 'config', aliases: ['config', 'kernel-config', 'config-kernel'], takesFlavor: true, summary: 'menuconfig for the flavor kernel, saved back to kernel/configs (needs a terminal)' },
  { name: 'config-shell', aliases: ['kernel-config-shell', 'config-shell-kernel'], takesFlavor: true, summary: 'a shell in the kernel build environment' },
  { name: 'run-qemu', aliases: ['build-run-qemu', 'run-qemu', 'qemu-run', 'run', 'qemu'], takesFlavor: true, summary: 'build, then boot the flavor in QEMU, its console on this terminal (NETBOOT=yes: through iPXE as Smee boots it; FIRMWARE=bios)' },
  { name: 'serve', aliases: ['serve'], takesFlavor: true, summary: "serve Smee's iPXE script and the flavor's kernel and initramfs over HTTP for real machines: hook serve <flavor> LISTEN=<address>:<port>" },
  { name: 'gha-matrix', aliases: ['gha-matrix'], takesFlavor: false, summary: 'print the GitHub Actions matrices (and append them to $GITHUB_OUTPUT)' },
  { name: 'linuxkit-containers', aliases: ['linuxkit-containers'], takesFlavor: false, summary: 'build every LinuxKit container image for DOCKER_ARCH' },
  { name: 'bootable-media', aliases: ['bootable-media', 'bootable', 'media'], takesFlavor: false, summary: 'write a bootable disk image per board into dist/bootable (BOARD=, CARD_DEVICE=): hook bootable-media <bootable-id>' },
  { name: 'lint', aliases: ['lint', 'shellcheck', 'shellfmt'], takesFlavor: false, summary: "type-check every project and shellcheck HookOS's shell scripts (nx run-many -t lint)" },
  { name: 'list', aliases: ['list', 'ls'], takesFlavor: false, summary: 'the inventory as a table (--json for JSON)' },
  { name: 'kernel-lock', aliases: ['kernel-lock', 'refresh-kernel-lock'], takesFlavor: false, summary: 'resolve kernel point releases again and rewrite kernel/versions.lock.json' },
  { name: 'hardware', aliases: ['hardware', 'hw'], takesFlavor: true, summary: 'which module of a built flavor drives a device, and its firmware: hook hardware <flavor> <vendor:device>... (or lspci -nn / lsusb output on stdin)' },
  { name: 'graph', aliases: ['graph', 'nx-graph'], takesFlavor: false, summary: 'the project graph: opens it in a browser (nx graph), or writes it: hook graph <file.json|file.html>' },
  { name: 'settings', aliases: ['settings', 'config-vars'], takesFlavor: false, summary: "every setting (environment variable or KEY=VALUE): its value here or its default, and what it does (--markdown: the README's tables)" },
  { name: 'clean', aliases: ['clean'], takesFlavor: false, summary: "remove what builds left behind: dangling images, builder stages and Hook images dist/ does not record (this registry base) in the Docker engine, stale staging, the cache's entries (--dry-run: list them with sizes)" },
  { name: 'help', aliases: ['help'], takesFlavor: false, summary: 'this help' },
];

export function findCommand(word: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.aliases.includes(word));
}

export function allCommandWords(): string[] {
  return COMMANDS.flatMap((c) => c.aliases);
}
