/**
 * The `hook` command: upstream build.sh's interface over the Nx targets. Fast commands
 * (gha-matrix, list, help) run in-process without loading Nx; build commands run `nx run`.
 */
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError, log, reportError } from '@hook/log';
import {
  kernelOf,
  kernelProjectName,
  loadInventory,
  outputIdOf,
  resolveFlavor,
  suggest,
  type Inventory,
  type ResolvedFlavor,
} from '@hook/inventory';
import { DIST_DIR, HOOKOS_DIR, hookVersion, hostDockerArch, inWorkspace, mediaManifestFile } from '@hook/layout';
import { verifySha256SumsOnce } from './verified';
import { computeMatrices, githubOutputLines, selectedTags } from '@hook/ci-matrix';
import { COMMANDS, allCommandWords, findCommand, parseArgs, type CommandSpec } from './args';
import { checkSettings, definitionOf, isSet, setting, settingNames, settingsListing, settingsMarkdown } from '@hook/settings';


export interface CliContext {
  root: string;
  env: NodeJS.ProcessEnv;
  stdout: { write(text: string): unknown };
  stdinIsTTY: boolean;
  /** All of standard input (for text piped in, such as `lspci -nn`). */
  readStdin(): Promise<string>;
  hostArch: string;
  /** Runs an Nx command in the workspace; returns its exit code. */
  runNx(args: string[], env: NodeJS.ProcessEnv): Promise<number>;
  /** Checks a built flavor's files against their SHA256SUMS (Nx restores its cache unchecked). */
  verifyBuild(flavor: ResolvedFlavor): Promise<void>;
  /**
   * Boots a built flavor in QEMU in this process, its console on this terminal (not inside an
   * Nx task, whose output Nx's terminal UI would draw in a pane and keep keys from).
   */
  runQemu(flavorId: string, env: NodeJS.ProcessEnv): Promise<void>;
  /** Serves the flavor's netboot files until interrupted. */
  serve(flavorId: string, env: NodeJS.ProcessEnv): Promise<void>;
}

/** The real verifyBuild: dist/hook/SHA256SUMS-<OUTPUT_ID> against the files it lists. */
export async function verifyHookosBuild(root: string, { flavor, files }: ResolvedFlavor): Promise<void> {
  // Files that passed and have not changed since (no cache restore, no write) are not hashed again.
  await verifySha256SumsOnce(root, inWorkspace(root, files.checksums), `${flavor.id}:build`, join(root, 'node_modules', '.cache', 'hook-cli', 'verified.json'));
}

/** The workspace's Nx entry script, from nx's package.json (its location moved between majors). */
export function nxBinary(root: string): string {
  const packageJson = join(root, 'node_modules', 'nx', 'package.json');
  if (!existsSync(packageJson)) throw new UserError(`Nx is not installed in ${root}; run npm ci first`);
  const bin = (JSON.parse(readFileSync(packageJson, 'utf8')) as { bin: Record<string, string> }).bin.nx;
  return join(dirname(packageJson), bin);
}


/** apps/hook-cli/bin/nx-kept-outputs.js, which `hook` preloads into Nx; undefined when missing. */
export function nxKeptOutputsPreload(root: string): string | undefined {
  const file = join(root, 'apps', 'hook-cli', 'bin', 'nx-kept-outputs.js');
  return existsSync(file) ? file : undefined;
}

/**
 * `hook`'s exit code for an Nx run: 130 only when the build was interrupted (a signal reached
 * hook or Nx), 1 for any failure (Nx itself can exit 130 for a failed task), else 0.
 */
export function exitCodeOf(result: { exitCode: number; interruptedBy?: string }): number {
  if (result.interruptedBy) return 130;
  return result.exitCode === 0 ? 0 : 1;
}

export async function main(argv: readonly string[], ctx: CliContext): Promise<number> {
  try {
    return await dispatch(argv, ctx);
  } catch (error) {
    return reportError(error);
  }
}

async function dispatch(argv: readonly string[], ctx: CliContext): Promise<number> {
  const args = parseArgs(argv);
  if (args.flags.has('--help')) return help(ctx);
  // A yes/no setting with another value, or a bad KEY=VALUE, stops here, before anything is applied or built.
  checkSettings({ ...ctx.env, ...args.params }, Object.keys(args.params));
  for (const [name, value] of Object.entries(args.params)) {
    const before = ctx.env[name];
    log.info(`Applying cmdline param to environment '${name}': '${before === undefined ? '(unset)' : before || '(empty)'}' --> '${value || '(empty)'}'`);
    ctx.env[name] = value;
  }
  const unknownFlags = [...args.flags].filter((f) => !['--help', '--json', '--markdown', '--dry-run'].includes(f));
  if (unknownFlags.length > 0) {
    throw new UserError(`Unknown option ${unknownFlags[0]}; options are --help, --json (for list), --markdown (for settings) and --dry-run (for clean); parameters are KEY=VALUE`);
  }

  let word = args.positional[0];
  if (word === undefined) {
    log.warn("No command (first argument) specified; defaulting to 'build'; be explicit to avoid this warning.");
    word = 'build';
  }
  const command = findCommand(word);
  if (!command) {
    const hint = suggest(word, allCommandWords());
    throw new UserError(`Unknown command: '${word}'${hint ? ` (did you mean ${hint}?)` : ''}; valid commands are: ${COMMANDS.map((c) => c.aliases.join('|')).join(', ')}`);
  }

  switch (command.name) {
    case 'help':
      return help(ctx);
    case 'settings':
      ctx.stdout.write(args.flags.has('--markdown') ? settingsMarkdown() : settingsListing(ctx.env));
      return 0;
    case 'gha-matrix':
      return ghaMatrix(ctx);
    case 'list':
      return list(ctx, args.flags.has('--json'));
    case 'lint':
      return lint(ctx, word);
    case 'linuxkit-containers': {
      const arch = setting(ctx.env, 'DOCKER_ARCH') ?? hostDockerArch(ctx.hostArch);
      return ctx.runNx(['run-many', '-t', `build-${arch}`, '--projects=tag:hook:image'], ctx.env);
    }
    case 'kernel-lock':
      return ctx.runNx(['run-many', '-t', 'refresh-lock', '--projects=tag:hook:kernel', '--parallel=1'], ctx.env);
    case 'bootable-media':
      return bootableMedia(ctx, args.positional[1]);
    case 'graph':
      return graph(ctx, args.positional[1]);
    case 'hardware':
      return hardware(ctx, args.positional[1], args.positional.slice(2));
    case 'clean':
      return clean(ctx, args.positional.slice(1), args.flags.has('--dry-run'));
    default:
      return flavorCommand(ctx, command, args.positional[1]);
  }
}

async function flavorCommand(ctx: CliContext, command: CommandSpec, flavorArg: string | undefined): Promise<number> {
  const inventory = loadInventory(ctx.root);
  let flavorId = flavorArg;
  if (flavorId === undefined) {
    flavorId = `hook-default-${hostDockerArch(ctx.hostArch)}`;
    log.warn(`No kernel/flavor ID (second argument) specified; defaulting to '${flavorId}'; be explicit to avoid this warning.`);
  }
  const resolved = resolveFlavor(inventory, flavorId);
  const { flavor, kernel } = resolved;
  logDefaults(ctx.env);
  log.info(`Using Hook version (HOOK_VERSION): ${hookVersion(ctx.env)}`);
  switch (command.name) {
    case 'build':
      if (setting(ctx.env, 'LINUXKIT_ISO')) {
        if (!flavor.SUPPORTS_ISO) throw new UserError(`Flavor ${flavor.id} does not support an ISO (SUPPORTS_ISO is not set in ${flavor.file})`);
        return ctx.runNx(['run', `${flavor.id}:iso`], ctx.env);
      }
      return buildAndVerify(ctx, resolved);
    case 'run-qemu': {
      // Mistakes in the run's settings show before a build, not after it.
      const qemu = await import('@hook/qemu');
      qemu.firmwareOf(ctx.env);
      if (qemu.netbootOf(ctx.env) && flavor.ARCH !== 'x86_64') {
        throw new UserError(`NETBOOT=yes follows Smee's x86 iPXE script (console=ttyS1); boot ${flavor.id} without NETBOOT`);
      }
      // A quick try: the development level (HOOK_INITRAMFS_LEVEL still wins); `hook build` keeps the release bytes.
      const code = await buildAndVerify(ctx, resolved, 'dev');
      if (code !== 0) return code;
      await ctx.runQemu(flavor.id, ctx.env);
      return 0;
    }
    case 'serve':
      await ctx.serve(flavor.id, ctx.env);
      return 0;
    case 'kernel': {
      // Publishing runs after the (cached) build, so a cache hit still pushes or exports.
      const publish = setting(ctx.env, 'DO_PUSH') || setting(ctx.env, 'EXPORT_KERNEL_IMAGE');
      return ctx.runNx(['run', `${kernelProjectName(kernel.id)}:${publish ? 'publish' : 'build'}`], ctx.env);
    }
    case 'kernel-check':
      return ctx.runNx(['run', `${kernelProjectName(kernel.id)}:check-config`], ctx.env);
    case 'config':
    case 'config-shell': {
      if (kernel.METHOD === 'armbian') {
        throw new UserError(
          `Kernel ${kernel.id} is an Armbian kernel and cannot be configured here; change it in Armbian's kernel configs (armbian/build, config/kernel/) instead`,
        );
      }
      if (!ctx.stdinIsTTY) {
        throw new UserError(`'${command.aliases[0]}' is interactive and needs a terminal; run it from a shell, not from a pipe or CI`);
      }
      return ctx.runNx(['run', `${kernelProjectName(kernel.id)}:${command.name}`], ctx.env);
    }
    default:
      throw new Error(`command ${command.name} has no flavor handler`);
  }
}

/** `nx run <flavor>:build`, then its files against their checksums: a corrupted cache entry fails here. */
async function buildAndVerify(ctx: CliContext, flavor: ResolvedFlavor, configuration?: 'dev'): Promise<number> {
  checkWritable(ctx.root, [DIST_DIR, HOOKOS_DIR]);
  const code = await ctx.runNx(['run', `${flavor.flavor.id}:build${configuration ? `:${configuration}` : ''}`], ctx.env);
  if (code !== 0) return code;
  await ctx.verifyBuild(flavor);
  return 0;
}

/**
 * Nx writes a build's files into dist/, also when it restores them from its cache, and then
 * says only "Operation not permitted (os error 1)": an unwritable folder is named here first.
 */
export function checkWritable(root: string, folders: readonly string[]): void {
  for (const folder of folders) {
    const dir = join(root, folder);
    if (!existsSync(dir)) continue;
    const probe = join(dir, `.hook-write-check-${process.pid}`);
    try {
      writeFileSync(probe, '');
      rmSync(probe);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new UserError(`${folder} is not writable (${code}); Nx writes the build's files there, also from its cache: fix its permissions (chmod u+w ${folder}, chattr -i ${folder}) or remove it`);
    }
  }
}

/**
 * Unset settings keep their defaults, applied where they are read (@hook/settings), not
 * exported here: exported, they would enter the Nx hash and `./hook build` would miss the cache
 * entries of `npx nx run <flavor>:build`.
 */
function logDefaults(env: NodeJS.ProcessEnv): void {
  for (const name of settingNames()) {
    const { defaultText, hashes } = definitionOf(name);
    if (hashes.length > 0 && defaultText && !isSet(env, name)) log.debug(`${name} is not set: using the default ${defaultText}`);
  }
}

/**
 * `<flavor>:bootable-<id>` writes (or restores from the cache) the media into dist/bootable;
 * with CARD_DEVICE the one medium is then written to that device. Every mistake (bootable,
 * board, TINK_* value, device) is found before Nx runs.
 */
async function bootableMedia(ctx: CliContext, bootableId: string | undefined): Promise<number> {
  const media = await import('@hook/bootable/cli');
  const inventory = loadInventory(ctx.root);
  const { bootable, flavor } = media.resolveBootable(inventory, bootableId);
  const boards = media.selectBoards(bootable, setting(ctx.env, 'BOARD'));
  for (const board of boards) media.tinkSettings(ctx.env, board.id);
  const device = setting(ctx.env, 'CARD_DEVICE');
  if (device) {
    if (boards.length !== 1) {
      throw new UserError(`CARD_DEVICE takes one medium, but bootable ${bootable.ID} has ${boards.length} boards (${boards.map((b) => b.id).join(' ')}); choose one with BOARD=<board>`);
    }
    media.checkCardDevice(device);
  }
  logDefaults(ctx.env);
  const code = await ctx.runNx(['run', `${flavor.id}:bootable-${bootable.ID}`], ctx.env);
  if (code !== 0 || !device) return code;
  const manifest = await media.readMediaManifest(inWorkspace(ctx.root, mediaManifestFile(bootable.ID)));
  const file = manifest.media[boards[0].id];
  if (!file) throw new UserError(`${mediaManifestFile(bootable.ID)} names no medium for board ${boards[0].id}; run again`);
  await media.writeImageToDevice(inWorkspace(ctx.root, file), device);
  return 0;
}

/**
 * `hook hardware <flavor> [ids...]`: answers from the built flavor's hardware index in dist/hook
 * (no Nx, no Docker). Without IDs it reads `lspci -nn`, `lspci -n` or `lsusb` output from stdin.
 */
async function hardware(ctx: CliContext, flavorId: string | undefined, words: string[]): Promise<number> {
  if (flavorId === undefined) throw new UserError('hook hardware needs a flavor: hook hardware <flavor> <vendor:device>... (or lspci -nn output on stdin)');
  const { flavor, files } = resolveFlavor(ctx.root, flavorId);
  const file = files.hardware;
  if (!existsSync(inWorkspace(ctx.root, file))) throw new UserError(`${flavor.id} is not built (${file} is missing); build it first: ./hook build ${flavor.id}`);
  if (words.length === 0 && ctx.stdinIsTTY) throw new UserError(`hook hardware ${flavor.id} needs devices: vendor:device IDs as arguments, or lspci -nn output on stdin (lspci -nn | ./hook hardware ${flavor.id})`);
  const text = words.length > 0 ? words.join('\n') : await ctx.readStdin();
  const hw = await import('@hook/hardware');
  const { devices, unreadable } = hw.parseDevices(text);
  if (words.length > 0 && unreadable.length > 0) throw new UserError(`'${unreadable[0]}' is not a device ID; give vendor:device in hex, e.g. 14e4:165f`);
  if (devices.length === 0) throw new UserError('no device found in the input: paste lspci -nn (or lspci -n, lsusb) output, or give vendor:device IDs');
  const index = JSON.parse(readFileSync(inWorkspace(ctx.root, file), 'utf8')) as import('@hook/hardware').HardwareIndex;
  for (const device of devices) ctx.stdout.write(`${hw.describeAnswer(index, flavor.id, hw.lookupDevice(index, device))}\n`);
  return 0;
}

/** `hook clean [--dry-run]`: in-process, without Nx (@hook/containers/clean). */
async function clean(ctx: CliContext, extra: string[], dryRun: boolean): Promise<number> {
  if (extra.length > 0) throw new UserError(`hook clean takes no argument but '${extra[0]}'; run hook clean --dry-run to see what it removes, then hook clean`);
  const { runClean } = await import('@hook/containers/clean');
  const kept = await runClean({ workspaceRoot: ctx.root, env: ctx.env, dryRun, write: (text) => ctx.stdout.write(text) });
  if (kept > 0) log.warn(`${kept} item(s) stayed (see 'kept:' above): stop the containers that use those images, then run hook clean again`);
  return 0;
}

/** `nx graph`: served and opened in a browser, or written to a .json or .html file. */
async function graph(ctx: CliContext, file: string | undefined): Promise<number> {
  if (file === undefined) return ctx.runNx(['graph'], ctx.env);
  if (!/\.(json|html)$/.test(file)) throw new UserError(`hook graph writes a .json or .html file, not '${file}'; e.g. hook graph graph.html`);
  return ctx.runNx(['graph', `--file=${file}`], ctx.env);
}

async function lint(ctx: CliContext, word: string): Promise<number> {
  if (word === 'lint') installPreCommitHook(ctx.root);
  else log.notice(`'${word}' checked upstream's bash; this project's lint type-checks every project and runs shellcheck over HookOS's shell scripts (containers:lint)`);
  return ctx.runNx(['run-many', '-t', 'lint'], ctx.env);
}

function installPreCommitHook(root: string): void {
  const hooks = join(root, '.git', 'hooks');
  if (!existsSync(hooks)) return;
  const file = join(hooks, 'pre-commit');
  log.info(`Installing lint as a git pre-commit hook in ${file}`);
  writeFileSync(file, '#!/usr/bin/env bash\nexec ./hook lint\n');
  chmodSync(file, 0o755);
}

function ghaMatrix(ctx: CliContext): number {
  const inventory = loadInventory(ctx.root);
  log.info(`CI_TAGS: ${selectedTags(ctx.env).join(' ')}`);
  const matrices = computeMatrices(inventory, ctx.env, log);
  const lines = githubOutputLines(matrices);
  for (const line of lines) log.info(line.replace('=', ' to: '));
  // GitHub's own variable, not a Hook setting.
  if (ctx.env.GITHUB_OUTPUT) appendFileSync(ctx.env.GITHUB_OUTPUT, lines.map((l) => `${l}\n`).join(''));
  ctx.stdout.write(JSON.stringify(matrices.bootable));
  return 0;
}

export function inventoryRows(inventory: Inventory) {
  return inventory.flavors.map((flavor) => {
    const kernel = kernelOf(inventory, flavor);
    const series = kernel.METHOD === 'default' ? `${kernel.KERNEL_MAJOR}.${kernel.KERNEL_MINOR}.y ${kernel.KCONFIG}` : kernel.METHOD === 'armbian' ? kernel.ARMBIAN_KERNEL_ARTIFACT : `${kernel.DEBIAN_SUITE} ${kernel.DEBIAN_PACKAGE}`;
    return {
      id: flavor.id,
      arch: flavor.ARCH,
      method: kernel.METHOD,
      kernel: kernel.id,
      kernelSource: series ?? '',
      tags: flavor.TAG,
      iso: flavor.SUPPORTS_ISO,
      template: flavor.TEMPLATE,
      outputId: outputIdOf(flavor, kernel),
      bootables: flavor.BOOTABLES.map((b) => b.ID),
      description: flavor.DESCRIPTION ?? '',
    };
  });
}

function list(ctx: CliContext, json: boolean): number {
  const rows = inventoryRows(loadInventory(ctx.root));
  if (json) {
    ctx.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const table = [
    ['FLAVOR', 'ARCH', 'METHOD', 'KERNEL SOURCE', 'TAGS', 'ISO', 'OUTPUT_ID', 'BOOTABLES'],
    ...rows.map((r) => [r.id, r.arch, r.method, r.kernelSource, r.tags.join(','), r.iso ? 'yes' : '', r.outputId, r.bootables.join(',')]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  ctx.stdout.write(table.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n');
  return 0;
}

function help(ctx: CliContext): number {
  const lines = [
    'Usage: hook [command] [flavor-id] [KEY=VALUE ...]',
    '',
    "Hook builds HookOS, Tinkerbell's in-memory installation environment. KEY=VALUE parameters",
    'may appear anywhere and are exported to the environment of the build.',
    '',
    'Commands (aliases after |):',
    ...COMMANDS.map((c) => `  ${c.aliases.join('|').padEnd(46)} ${c.summary}`),
    '',
    "Without a command: build. Without a flavor: hook-default-<host arch>. 'hook list' shows the flavors.",
    '',
    "Common parameters: DEBUG=yes, HOOK_VERSION, DO_PUSH=yes, CACHE_DIR, HOOK_INITRAMFS_LEVEL=9 (faster, larger).",
    "'hook settings' lists every setting with its value here or its default; README.md explains them.",
    "'hook clean': a Docker engine shared with other clones loses their builder stages and their images under the same",
    "registry base that this dist/ does not record (they reload them from their dist/); run it when no build runs.",
  ];
  ctx.stdout.write(lines.join('\n') + '\n');
  return 0;
}
