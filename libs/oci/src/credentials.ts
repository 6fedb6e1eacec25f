/**
 * Where registry credentials come from: `~/.docker/config.json` (`auths`, written by `docker
 * login`), or HOOK_REGISTRY_USERNAME / HOOK_REGISTRY_PASSWORD for the registry named in
 * HOOK_REGISTRY. Credentials are only ever looked up for one registry host, so they are not
 * sent to another registry (the upstream bootkit bug fixed in hook PR #282).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { log } from '@hook/log';
import { DEFAULT_DOMAIN, registryHostFromSetting } from './reference';
import { setting } from '@hook/settings';

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for error messages. */
  source: string;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(env.HOME || homedir(), '.docker', 'config.json');
}

/** The registry host a docker config `auths` key names (`https://index.docker.io/v1/` -> docker.io). */
export function authKeyHost(key: string): string | undefined {
  const withoutPath = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0] ?? '';
  if (withoutPath === 'registry-1.docker.io') return DEFAULT_DOMAIN;
  return registryHostFromSetting(withoutPath);
}

interface DockerConfigAuth {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/** Reads `auths` from a docker config file; a missing file means no credentials. */
export function credentialsFromDockerConfig(registry: string, path: string): Credentials | undefined {
  let config: { auths?: Record<string, DockerConfigAuth>; credsStore?: string; credHelpers?: Record<string, string> };
  try {
    config = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`ignoring ${path}: ${(error as Error).message}`);
    return undefined;
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (authKeyHost(key) !== registry || !entry) continue;
    if (entry.username && entry.password) return { username: entry.username, password: entry.password, source: path };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/\n$/, ''), source: path };
      log.warn(`${path}: the auth entry for ${key} is not base64 of user:password; ignoring it`);
    }
  }
  if (config.credsStore || config.credHelpers?.[registry]) {
    log.debug(`${path} uses a credential helper, which hook does not call; set HOOK_REGISTRY_USERNAME/HOOK_REGISTRY_PASSWORD instead`);
  }
  return undefined;
}

let warnedUnscoped = false;

/** HOOK_REGISTRY_USERNAME/PASSWORD, for the registry named by HOOK_REGISTRY only. */
export function credentialsFromEnv(registry: string, env: NodeJS.ProcessEnv): Credentials | undefined {
  const username = setting(env, 'HOOK_REGISTRY_USERNAME');
  const password = setting(env, 'HOOK_REGISTRY_PASSWORD');
  const scope = setting(env, 'HOOK_REGISTRY');
  if (!username || password === undefined) return undefined;
  if (!scope) {
    if (!warnedUnscoped) {
      warnedUnscoped = true;
      log.warn('HOOK_REGISTRY_USERNAME is set but HOOK_REGISTRY is not; set HOOK_REGISTRY=host[:port] to say which registry these credentials are for (they are not used meanwhile)');
    }
    return undefined;
  }
  if (registryHostFromSetting(scope) !== registry) return undefined;
  return { username, password: password.replace(/\n$/, ''), source: 'HOOK_REGISTRY_USERNAME/HOOK_REGISTRY_PASSWORD' };
}

/** The credentials for one registry host: environment first, then the docker config. */
export function findCredentials(registry: string, env: NodeJS.ProcessEnv = process.env, configPath = dockerConfigPath(env)): Credentials | undefined {
  return credentialsFromEnv(registry, env) ?? credentialsFromDockerConfig(registry, configPath);
}
