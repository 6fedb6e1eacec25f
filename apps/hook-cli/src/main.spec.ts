import { join } from 'node:path';
import { Logger } from '@hook/log';
import { parseArgs } from './args';
import { existsSync } from 'node:fs';
import { exitCodeOf, main, nxBinary, type CliContext } from './main';

const root = join(__dirname, '../../..');

function context(overrides: Partial<CliContext> = {}) {
  const nxCalls: { args: string[]; env: NodeJS.ProcessEnv }[] = [];
  const qemuRuns: string[] = [];
  const served: [string, string | undefined][] = [];
  let out = '';
  const ctx: CliContext = {
    root,
    env: {},
    stdout: { write: (t: string) => (out += t) },
    stdinIsTTY: false,
    readStdin: async () => '',
    hostArch: 'x64',
    runNx: async (args, env) => {
      nxCalls.push({ args, env: { ...env } });
      return 0;
    },
    verifyBuild: async () => undefined,
    runQemu: async (flavorId) => void qemuRuns.push(flavorId),
    serve: async (flavorId, env) => void served.push([flavorId, env.LISTEN]),
    ...overrides,
  };
  return { ctx, nxCalls, qemuRuns, served, output: () => out };
}

let logLines: string[] = [];
beforeEach(() => {
  logLines = [];
  const sink = new Logger({ env: {}, sink: { write: (t: string) => logLines.push(t) }, color: false });
  jest.spyOn(require('@hook/log').log, 'log').mockImplementation((...args: unknown[]) => (sink.log as (...a: unknown[]) => void)(...args));
});
afterEach(() => jest.restoreAllMocks());

describe('parseArgs', () => {
  it('takes KEY=VALUE anywhere and ignores empty arguments', () => {
    expect(parseArgs(['DEBUG=yes', 'build', '', 'hook-default-amd64', 'X=a=b', 'EMPTY='])).toEqual({
      positional: ['build', 'hook-default-amd64'],
      params: { DEBUG: 'yes', X: 'a=b', EMPTY: '' },
      flags: new Set(),
    });
  });
  it('rejects invalid parameter names', () => {
    expect(() => parseArgs(['1BAD=x'])).toThrow("Invalid command line parameter '1BAD=x'");
    expect(() => parseArgs(['A-B=x'])).toThrow("Invalid command line parameter 'A-B=x'");
  });
});

describe('commands', () => {
  it('defaults to build of hook-default-<host arch>, with warnings', async () => {
    const { ctx, nxCalls } = context();
    expect(await main([], ctx)).toBe(0);
    expect(nxCalls[0].args).toEqual(['run', 'hook-default-amd64:build']);
    expect(logLines.join('')).toContain("No command (first argument) specified; defaulting to 'build'");
    expect(logLines.join('')).toContain("No kernel/flavor ID (second argument) specified; defaulting to 'hook-default-amd64'");
    const arm = context({ hostArch: 'arm64' });
    await main(['build'], arm.ctx);
    expect(arm.nxCalls[0].args).toEqual(['run', 'hook-default-arm64:build']);
  });

  it('exports parameters to the build environment, and leaves unset defaults unset (the same Nx hash as nx run)', async () => {
    const { ctx, nxCalls } = context();
    await main(['linuxkit', 'HOOK_VERSION=9.9.9', 'hook-latest-lts-amd64'], ctx);
    expect(nxCalls[0].args).toEqual(['run', 'hook-latest-lts-amd64:build']);
    expect(nxCalls[0].env).toMatchObject({ HOOK_VERSION: '9.9.9' });
    expect(nxCalls[0].env.HOOK_KERNEL_OCI_BASE).toBeUndefined();
    expect(nxCalls[0].env.HOOK_LK_CONTAINERS_OCI_BASE).toBeUndefined();
    const plain = context();
    await main(['build', 'hook-latest-lts-amd64'], plain.ctx);
    expect(plain.nxCalls[0].env.HOOK_VERSION).toBeUndefined();
    expect(logLines.join('')).toContain('Using Hook version (HOOK_VERSION): 0.11.1');
  });

  it('maps every alias to its Nx target, the kernel through USE_KERNEL_ID', async () => {
    const cases: [string[], string[]][] = [
      [['kernel', 'peg-default-amd64'], ['run', 'kernel-hook-default-amd64:build']],
      [['build-kernel', 'armbian-meson64-edge'], ['run', 'kernel-armbian-meson64-edge:build']],
      [['kernel', 'hook-default-arm64', 'DO_PUSH=yes'], ['run', 'kernel-hook-default-arm64:publish']],
      [['linuxkit-containers', 'DOCKER_ARCH=arm64'], ['run-many', '-t', 'build-arm64', '--projects=tag:hook:image']],
      [['graph'], ['graph']],
      [['graph', 'out/graph.html'], ['graph', '--file=out/graph.html']],
      [['build', 'hook-default-arm64', 'LINUXKIT_ISO=yes'], ['run', 'hook-default-arm64:iso']],
      [['bootable', 'grub-amd64'], ['run', 'hook-default-amd64:bootable-grub-amd64']],
      [['media', 'uboot-rk35xx-vendor', 'BOARD=mekotronics-r58x-pro'], ['run', 'armbian-rk35xx-vendor:bootable-uboot-rk35xx-vendor']],
      [['kernel-check', 'peg-default-amd64'], ['run', 'kernel-hook-default-amd64:check-config']],
      [['check-kernel-config', 'hook-debian-arm64'], ['run', 'kernel-hook-debian-arm64:check-config']],
    ];
    for (const [argv, expected] of cases) {
      const { ctx, nxCalls } = context();
      expect(await main(argv, ctx)).toBe(0);
      expect(nxCalls[0].args).toEqual(expected);
    }
  });

  it('runs QEMU itself after Nx built (at the development level: build:dev) and checked the flavor, so the console is this terminal whatever Nx draws', async () => {
    for (const word of ['run', 'qemu', 'build-run-qemu']) {
      const checked: string[] = [];
      const { ctx, nxCalls, qemuRuns } = context({ verifyBuild: async ({ flavor }) => void checked.push(flavor.id) });
      expect(await main([word, 'hook-debian-amd64'], ctx)).toBe(0);
      expect(nxCalls.map((c) => c.args)).toEqual([['run', 'hook-debian-amd64:build:dev']]);
      expect(checked).toEqual(['hook-debian-amd64']);
      expect(qemuRuns).toEqual(['hook-debian-amd64']);
    }
    const failed = context({ runNx: async () => 1 });
    expect(await main(['run', 'hook-debian-amd64'], failed.ctx)).toBe(1);
    expect(failed.qemuRuns).toEqual([]);
  });

  it('refuses a wrong FIRMWARE or NETBOOT, and netboot of an arm64 flavor, before building', async () => {
    for (const [argv, message] of [
      [['run', 'hook-debian-amd64', 'FIRMWARE=coreboot'], "FIRMWARE is 'coreboot'; use uefi (OVMF) or bios (SeaBIOS)"],
      [['run', 'hook-debian-amd64', 'NETBOOT=maybe'], "NETBOOT is 'maybe'; use yes or no"],
      [['run', 'hook-debian-arm64', 'NETBOOT=yes'], "NETBOOT=yes follows Smee's x86 iPXE script"],
    ] as const) {
      const { ctx, nxCalls, qemuRuns } = context();
      expect(await main([...argv], ctx)).toBe(1);
      expect(nxCalls).toEqual([]);
      expect(qemuRuns).toEqual([]);
      expect(logLines.join('')).toContain(message);
    }
  });

  it('serves a flavor without building it', async () => {
    const { ctx, nxCalls, served } = context();
    expect(await main(['serve', 'hook-debian-amd64', 'LISTEN=127.0.0.1:8080'], ctx)).toBe(0);
    expect(served).toEqual([['hook-debian-amd64', '127.0.0.1:8080']]);
    expect(nxCalls).toEqual([]);
  });

  it('refuses interactive kernel configuration without a terminal, and Armbian configuration always', async () => {
    const { ctx, nxCalls } = context();
    expect(await main(['config', 'hook-default-amd64'], ctx)).toBe(1);
    expect(logLines.join('')).toContain("'config' is interactive and needs a terminal");
    expect(await main(['kernel-config', 'armbian-meson64-edge'], { ...ctx, stdinIsTTY: true })).toBe(1);
    expect(logLines.join('')).toContain("Armbian's kernel configs");
    expect(nxCalls).toEqual([]);
    const tty = context({ stdinIsTTY: true });
    await main(['config-shell-kernel', 'hook-default-amd64'], tty.ctx);
    expect(tty.nxCalls[0].args).toEqual(['run', 'kernel-hook-default-amd64:config-shell']);
  });

  it('rejects unknown commands, flavors, bootables and options with one line each', async () => {
    for (const [argv, message] of [
      [['frobnicate'], "Unknown command: 'frobnicate'; valid commands are: build|linuxkit,"],
      [['buld'], "Unknown command: 'buld' (did you mean build?)"],
      [['build', 'no-such-flavor'], "Unknown flavor 'no-such-flavor'; valid ones are: armbian-bcm2711-current"],
      [['bootable-media', 'grub-amd65'], "Unknown bootable 'grub-amd65' (did you mean grub-amd64?)"],
      [['bootable-media'], 'bootable-media needs a bootable id; valid ones are: grub-amd64'],
      [['bootable-media', 'uboot-rk', 'BOARD=rock5b'], "Unknown board 'rock5b' for bootable uboot-rk; its boards are: cm3588-nas nanopct6 odroidm1 quartz64a rockpro64"],
      [['bootable-media', 'grub-debian-amd64', 'TINK_SERVER=a b'], "TINK_SERVER is 'a b'; use letters, digits and . _ : / @ % + , = - [ ] (a kernel command line value: no spaces or shell characters)"],
      [['bootable-media', 'grub-debian-amd64', 'TINK_GRPC_PORT=grpc'], "TINK_GRPC_PORT is 'grpc'; use a whole number, 1..65535"],
      [['bootable-media', 'uboot-rk', 'CARD_DEVICE=/dev/null'], 'CARD_DEVICE takes one medium, but bootable uboot-rk has 5 boards'],
      [['bootable-media', 'grub-debian-amd64', 'CARD_DEVICE=/etc/hostname'], 'CARD_DEVICE /etc/hostname is a regular file, not a block device'],
      [['bootable-media', 'grub-debian-amd64', 'CARD_DEVICE=/dev/no-such-card'], 'CARD_DEVICE /dev/no-such-card does not exist'],
      [['build', '--frob'], 'Unknown option --frob'],
      [['build', 'peg-default-amd64', 'LINUXKIT_ISO=yes'], 'Flavor peg-default-amd64 does not support an ISO'],
    ] as [string[], string][]) {
      logLines = [];
      const { ctx, nxCalls } = context();
      expect(await main(argv, ctx)).not.toBe(0);
      expect(logLines.filter((l) => l.includes('[error]'))).toEqual([expect.stringContaining(message)]);
      expect(nxCalls).toEqual([]);
    }
  });

  it('lists the inventory as a table and as JSON', async () => {
    const table = context();
    await main(['list'], table.ctx);
    expect(table.output()).toMatch(/^FLAVOR\s+ARCH\s+METHOD/);
    expect(table.output()).toMatch(/hook-latest-lts-amd64\s+x86_64\s+default\s+6\.\d+\.y generic\s+lts\s+yes\s+latest-lts-x86_64\s+grub-latest-lts-amd64/);
    const json = context();
    await main(['list', '--json'], json.ctx);
    const rows = JSON.parse(json.output());
    expect(rows.find((r: { id: string }) => r.id === 'peg-default-amd64')).toMatchObject({ kernel: 'hook-default-amd64', outputId: 'peg-default-amd64', tags: ['dev'] });
  });

  it('prints help with every command', async () => {
    const { ctx, output } = context();
    expect(await main(['--help'], ctx)).toBe(0);
    expect(output()).toContain('Usage: hook [command] [flavor-id] [KEY=VALUE ...]');
    expect(output()).toContain('build-run-qemu|run-qemu|qemu-run|run|qemu');
  });

  it('lists every setting with the value here or its default, and prints the README tables with --markdown', async () => {
    const listed = context({ env: { HOOK_INITRAMFS_LEVEL: '9' } });
    expect(await main(['settings'], listed.ctx)).toBe(0);
    expect(listed.output()).toContain('HOOK_INITRAMFS_LEVEL=9');
    expect(listed.output()).toContain('HOOK_VERSION (default: 0.11.1)');
    expect(listed.nxCalls).toEqual([]);
    const tables = context();
    expect(await main(['settings', '--markdown'], tables.ctx)).toBe(0);
    expect(tables.output()).toContain('| `USE_LATEST_BUILT_KERNEL` | `no` |');
  });

  it('a bad KEY=VALUE of any setting is one line before anything runs', async () => {
    const { ctx, nxCalls } = context();
    expect(await main(['build', 'hook-debian-amd64', 'HOOK_INITRAMFS_LEVEL=fast'], ctx)).toBe(1);
    expect(nxCalls).toEqual([]);
    expect(logLines).toEqual([expect.stringContaining("[error] HOOK_INITRAMFS_LEVEL is 'fast'; use a whole number, 1..22")]);
  });
});

describe('nxBinary', () => {
  it("finds the installed Nx's entry script", () => {
    expect(existsSync(nxBinary(root))).toBe(true);
    expect(() => nxBinary('/nonexistent')).toThrow('Nx is not installed in /nonexistent; run npm ci first');
  });
});

describe('yes/no parameters and exit codes', () => {
  it('DO_PUSH=maybe is one error line and exit 1, before Nx runs', async () => {
    const { ctx, nxCalls } = context();
    expect(await main(['build', 'hook-default-amd64', 'DO_PUSH=maybe'], ctx)).toBe(1);
    expect(nxCalls).toEqual([]);
    expect(logLines).toEqual([expect.stringContaining("[error] DO_PUSH is 'maybe'; use yes or no")]);
  });

  it('a bad yes/no value in the environment fails the same way', async () => {
    const { ctx } = context({ env: { HOOK_PULL_IMAGES: 'true' } });
    expect(await main(['build', 'hook-default-amd64'], ctx)).toBe(1);
    expect(logLines.join('')).toContain("HOOK_PULL_IMAGES is 'true'; use yes or no");
  });

  it('exits 130 only when interrupted, 1 for any failed build', () => {
    expect(exitCodeOf({ exitCode: 0 })).toBe(0);
    expect(exitCodeOf({ exitCode: 130 })).toBe(1);
    expect(exitCodeOf({ exitCode: 1 })).toBe(1);
    expect(exitCodeOf({ exitCode: 130, interruptedBy: 'SIGTERM' })).toBe(130);
    expect(exitCodeOf({ exitCode: 0, interruptedBy: 'SIGINT' })).toBe(130);
  });
});

describe('build verification', () => {
  it('checks the built files after Nx, and a mismatch is one line and exit 1', async () => {
    const checked: string[][] = [];
    const good = context({ verifyBuild: async ({ flavor, outputId }) => void checked.push([flavor.id, outputId]) });
    expect(await main(['build', 'hook-latest-lts-amd64'], good.ctx)).toBe(0);
    expect(checked).toEqual([['hook-latest-lts-amd64', 'latest-lts-x86_64']]);
    const { UserError } = require('@hook/log');
    const bad = context({ verifyBuild: async () => { throw new UserError('dist/hook/initramfs-x does not match'); } });
    expect(await main(['build', 'hook-latest-lts-amd64'], bad.ctx)).toBe(1);
    expect(logLines.filter((l) => l.includes('[error]'))).toEqual([expect.stringContaining('dist/hook/initramfs-x does not match')]);
  });
});

describe('checkWritable', () => {
  it('names an unwritable dist folder and the fix, instead of Nx\'s "Operation not permitted (os error 1)"', async () => {
    const { mkdtempSync, mkdirSync } = require('node:fs');
    const { tmpdir } = require('node:os');
    const { run } = require('@hook/process');
    const { checkWritable } = require('./main');
    const root = mkdtempSync(join(tmpdir(), 'hook-writable-'));
    mkdirSync(join(root, 'dist/hook'), { recursive: true });
    expect(() => checkWritable(root, ['dist', 'dist/hook'])).not.toThrow();
    // Immutable: not writable even for root (the tests run as root).
    await run('chattr', ['+i', join(root, 'dist/hook')]);
    try {
      expect(() => checkWritable(root, ['dist', 'dist/hook'])).toThrow(
        "dist/hook is not writable (EPERM); Nx writes the build's files there, also from its cache: fix its permissions (chmod u+w dist/hook, chattr -i dist/hook) or remove it",
      );
    } finally {
      await run('chattr', ['-i', join(root, 'dist/hook')]);
    }
  }, 30000);
});

describe('clean', () => {
  const { mkdtempSync, mkdirSync, writeFileSync, existsSync: exists, readFileSync } = require('node:fs');
  const { tmpdir } = require('node:os');
  /** A workspace with a dead build's staging, a running one's, a temp folder and cache entries; no engine. */
  function workspace() {
    const dir = mkdtempSync(join(tmpdir(), 'hook-clean-'));
    const dead = 4194000; // above any pid this machine hands out
    for (const path of [`dist/hook/.staging-${dead}-ab/initramfs`, `dist/hook/.staging-${process.pid}-cd/initramfs`, `tmp/hook/context-x-${dead}-ef/Dockerfile`, 'cache/kernel/src/a', 'cache/ccache/b']) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), 'x'.repeat(5000));
    }
    const env = { HOOK_TMPDIR: join(dir, 'tmp'), DOCKER_HOST: `unix://${join(dir, 'no-engine.sock')}` };
    return { dir, dead, env };
  }

  it('--dry-run lists each item with its size and the total, and removes nothing; then clean removes them', async () => {
    const { dir, dead, env } = workspace();
    const dry = context({ root: dir, env: { ...env } });
    expect(await main(['clean', '--dry-run'], dry.ctx)).toBe(0);
    expect(dry.output()).toMatch(new RegExp(`^staging +\\d+(\\.\\d)? kB  dist/hook/\\.staging-${dead}-ab$`, 'm'));
    expect(dry.output()).toMatch(/^cache +\d+(\.\d)? kB {2}cache\/ccache$/m);
    expect(dry.output()).toMatch(/^cache +\d+(\.\d)? kB {2}cache\/kernel$/m);
    expect(dry.output()).toContain(`context-x-${dead}-ef`);
    expect(dry.output()).toMatch(/^Would remove 4 item\(s\), \d+(\.\d)? kB \(dry run: nothing removed\)$/m);
    // A running build's staging is not a leftover.
    expect(dry.output()).not.toContain(`.staging-${process.pid}-`);
    expect(logLines.join('')).toContain('The Docker engine was not reachable, so its images were not cleaned (no Docker engine at unix://');
    expect(exists(join(dir, `dist/hook/.staging-${dead}-ab`))).toBe(true);
    expect(exists(join(dir, 'cache/kernel/src/a'))).toBe(true);

    const real = context({ root: dir, env: { ...env } });
    expect(await main(['clean'], real.ctx)).toBe(0);
    expect(real.output()).toMatch(/^Removed 4 item\(s\), /m);
    expect(exists(join(dir, `dist/hook/.staging-${dead}-ab`))).toBe(false);
    expect(exists(join(dir, `tmp/hook/context-x-${dead}-ef`))).toBe(false);
    expect(exists(join(dir, 'cache/kernel'))).toBe(false);
    expect(exists(join(dir, 'cache'))).toBe(true);
    expect(readFileSync(join(dir, `dist/hook/.staging-${process.pid}-cd/initramfs`), 'utf8')).toHaveLength(5000);
    const again = context({ root: dir, env: { ...env } });
    await main(['clean'], again.ctx);
    expect(again.output()).toBe('Nothing to clean.\n');
  });

  it('mistakes are one line each and exit 1', async () => {
    const { dir, env } = workspace();
    for (const [argv, extra, message] of [
      [['clean', 'images'], {}, "hook clean takes no argument but 'images'; run hook clean --dry-run to see what it removes, then hook clean"],
      [['clean', '--dryrun'], {}, 'Unknown option --dryrun; options are --help, --json (for list), --markdown (for settings) and --dry-run (for clean)'],
      [['clean', 'CACHE_DIR=..'], {}, `CACHE_DIR is ${join(dir, '..')}, which holds the workspace ${dir}: hook clean removes the cache's entries; set CACHE_DIR to a folder of its own`],
    ] as [string[], NodeJS.ProcessEnv, string][]) {
      logLines = [];
      const { ctx, output } = context({ root: dir, env: { ...env, ...extra } });
      expect(await main(argv, ctx)).toBe(1);
      expect(logLines.filter((l) => l.includes('[error]'))).toEqual([expect.stringContaining(message)]);
      expect(logLines.join('')).not.toContain('    at ');
      expect(output()).toBe('');
    }
    expect(exists(join(dir, 'cache/kernel/src/a'))).toBe(true);
  });

  it("the README's command table names every command with all its aliases", () => {
    const { COMMANDS } = require('./args');
    const readme = readFileSync(join(root, 'README.md'), 'utf8') as string;
    const table = readme.slice(readme.indexOf('| command (aliases) |'), readme.indexOf('run without loading Nx'));
    const rows = table.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows).toHaveLength(COMMANDS.length);
    for (const command of COMMANDS as { aliases: string[] }[]) {
      const row = rows.find((r) => command.aliases.some((alias) => r.startsWith(`| \`${alias}\``)));
      expect([command.aliases[0], row && command.aliases.filter((alias) => !row.split('|')[1].includes(`\`${alias}\``))]).toEqual([command.aliases[0], []]);
    }
  });
});
