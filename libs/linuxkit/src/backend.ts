/**
 * The backend switch: the native assembler (default), or the real `linuxkit` binary for users
 * who have it (LINUXKIT_BIN), run as upstream Hook runs it.
 */
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { UserError } from '@hook/log';
import { run } from '@hook/process';
import { setting } from '@hook/settings';

export type Backend = 'native' | 'linuxkit';

export function parseBackend(value: string | undefined): Backend {
  if (value === undefined || value === '' || value === 'native') return 'native';
  if (value === 'linuxkit') return 'linuxkit';
  throw new UserError(`unknown assembly backend ${JSON.stringify(value)}; use native or linuxkit`);
}

export interface LinuxkitBuildOptions {
  /** The rendered YAML file. */
  yamlPath: string;
  arch: string;
  outDir: string;
  name?: string;
  /** LinuxKit output format; Hook uses kernel+initrd. */
  format?: string;
  /** LinuxKit's image cache (`--cache`), an OCI layout holding every image the YAML names. */
  cacheDir?: string;
  /** More flags, e.g. --no-sbom. */
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Where linuxkit runs: it reads relative `files[].source` paths from its working directory. */
  cwd?: string;
}

/** The linuxkit binary from LINUXKIT_BIN, or a UserError saying how to select it. */
export function linuxkitBinary(env: NodeJS.ProcessEnv = process.env): string {
  const bin = setting(env, 'LINUXKIT_BIN');
  if (!bin) throw new UserError('the linuxkit backend needs the linuxkit binary: set LINUXKIT_BIN=/path/to/linuxkit (v1.8.2), or use the native backend');
  if (!existsSync(bin)) throw new UserError(`LINUXKIT_BIN=${bin} does not exist; point it at the linuxkit binary (v1.8.2), or use the native backend`);
  return bin;
}

/**
 * Checks that LINUXKIT_BIN is the release the flavor pins (LINUXKIT_VERSION, in flavor.yaml and
 * so in the build's cache key): which binary path a machine uses then does not change the output.
 */
export async function checkLinuxkitVersion(expected: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const bin = linuxkitBinary(env);
  const result = await run(bin, ['version'], { env, allowFailure: true });
  const found = /linuxkit version v?(\S+)/.exec(result.stdout)?.[1];
  if (result.exitCode !== 0 || !found) {
    throw new UserError(`LINUXKIT_BIN=${bin} does not answer 'version' like linuxkit (exit code ${result.exitCode}); point LINUXKIT_BIN at the linuxkit v${expected} binary`);
  }
  if (found !== expected.replace(/^v/, '')) {
    throw new UserError(`LINUXKIT_BIN=${bin} is linuxkit v${found}, but the flavor pins LINUXKIT_VERSION ${expected}; point LINUXKIT_BIN at linuxkit v${expected}, or set LINUXKIT_VERSION in the flavor's flavor.yaml`);
  }
}

/** The argument list upstream Hook uses (bash/linuxkit.sh), without --docker. */
export function linuxkitBuildArgs(options: LinuxkitBuildOptions): string[] {
  return [
    'build',
    '--arch', options.arch,
    '--name', options.name ?? 'hook',
    '--format', options.format ?? 'kernel+initrd',
    ...(options.cacheDir ? ['--cache', options.cacheDir] : []),
    ...(options.extraArgs ?? []),
    '--dir', options.outDir,
    options.yamlPath,
  ];
}

/** Runs `$LINUXKIT_BIN build ...`; its output is shown live. */
export async function linuxkitBuild(options: LinuxkitBuildOptions): Promise<void> {
  const bin = linuxkitBinary(options.env);
  // linuxkit does not create --dir for every format (tar fails with "cannot open output file").
  await mkdir(options.outDir, { recursive: true });
  await run(bin, linuxkitBuildArgs(options), { inherit: true, env: options.env, cwd: options.cwd });
}
