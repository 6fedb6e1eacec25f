/**
 * Docker's own kernel config check (moby's contrib/check-config.sh, shipped by Debian's
 * docker.io), run on a config file. Only its "Generally Necessary" options count: the script's
 * other lines look at the host (cgroup mounts, AppArmor) or are optional features.
 */
import { UserError } from '@hook/log';
import { run } from '@hook/process';
import { exists } from '@hook/debian';
import { setting } from '@hook/settings';

export const DEFAULT_DOCKER_CHECK_CONFIG = '/usr/share/docker.io/contrib/check-config.sh';

export interface DockerCheckResult {
  /** Options the script lists as Generally Necessary (CONFIG_ stripped). */
  necessary: string[];
  /** Those it reports missing. */
  missing: string[];
}

export async function dockerCheckConfigScript(env: NodeJS.ProcessEnv): Promise<string> {
  const script = setting(env, 'DOCKER_CHECK_CONFIG') ?? DEFAULT_DOCKER_CHECK_CONFIG;
  if (!(await exists(script))) {
    throw new UserError(`Docker's check-config.sh is not at ${script}; install docker.io (Debian ships it in /usr/share/docker.io/contrib/) or set DOCKER_CHECK_CONFIG`);
  }
  return script;
}

export async function runDockerCheckConfig(configPath: string, env: NodeJS.ProcessEnv): Promise<DockerCheckResult> {
  const script = await dockerCheckConfigScript(env);
  // The script exits non-zero for missing optional features too: its output is what counts.
  const result = await run('bash', [script, configPath], { allowFailure: true, env: { ...env, NO_COLOR: '1' }, timeoutMs: 60_000 });
  const parsed = parseDockerCheckOutput(result.stdout);
  if (!parsed.necessary.length) {
    throw new UserError(`${script} printed no "Generally Necessary" options for ${configPath}; is it Docker's contrib/check-config.sh?`);
  }
  return parsed;
}

/** Reads the "Generally Necessary:" section of the script's output (ANSI colours removed). */
export function parseDockerCheckOutput(output: string): DockerCheckResult {
  const necessary: string[] = [];
  const missing: string[] = [];
  let inSection = false;
  for (const raw of output.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
    const line = raw.trimEnd();
    if (/^Generally Necessary:/.test(line)) {
      inSection = true;
      continue;
    }
    if (inSection && /^\S.*:$/.test(line)) break; // the next section ("Optional Features:")
    if (!inSection) continue;
    const match = /^\s*- CONFIG_([A-Za-z0-9_]+): (.*)$/.exec(line);
    if (!match) continue;
    necessary.push(match[1]);
    if (!/^enabled/.test(match[2].trim())) missing.push(match[1]);
  }
  return { necessary, missing };
}
