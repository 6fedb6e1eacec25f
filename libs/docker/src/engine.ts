/**
 * Finding and checking the Docker engine the build talks to, the way the docker CLI finds it:
 * DOCKER_HOST, else the current context (DOCKER_CONTEXT or `currentContext` in
 * $DOCKER_CONFIG/config.json, resolved through `contexts/meta/<sha256(name)>/meta.json`),
 * else the default socket.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { UserError, log } from '@hook/log';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
/** Docker 20.10 (API 1.41) is the oldest engine the build is tested with (Debian bookworm's). */
export const MIN_API_VERSION = '1.41';

export interface DockerEndpoint {
  /** `unix:///path`, `tcp://host:port` or `ssh://user@host`. */
  host: string;
  /** Where the setting came from, for messages: `DOCKER_HOST`, `context NAME` or `default`. */
  source: string;
}

export interface DockerEngine {
  docker: Dockerode;
  endpoint: DockerEndpoint;
  /** Engine version, e.g. `20.10.24+dfsg1`. */
  version: string;
  apiVersion: string;
  /** The engine's architecture in Docker terms (amd64, arm64). */
  arch: string;
}

/** Where the engine is, without contacting it. */
export async function findDockerEndpoint(env: NodeJS.ProcessEnv = process.env): Promise<DockerEndpoint> {
  if (env.DOCKER_HOST) return { host: env.DOCKER_HOST, source: 'DOCKER_HOST' };
  const configDir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  let context = env.DOCKER_CONTEXT;
  if (!context) {
    const config = await readJson<{ currentContext?: string }>(join(configDir, 'config.json'));
    context = config?.currentContext;
  }
  if (!context || context === 'default') return { host: DEFAULT_DOCKER_HOST, source: 'default' };
  const metaPath = join(configDir, 'contexts', 'meta', createHash('sha256').update(context).digest('hex'), 'meta.json');
  const meta = await readJson<{ Endpoints?: { docker?: { Host?: string } } }>(metaPath);
  const host = meta?.Endpoints?.docker?.Host;
  if (!host) {
    throw new UserError(`Docker context "${context}" has no Docker endpoint (${metaPath}); run 'docker context use default' or set DOCKER_HOST`);
  }
  return { host, source: `context ${context}` };
}

/** dockerode connection options for a DOCKER_HOST-style address. */
export function dockerodeOptions(host: string, env: NodeJS.ProcessEnv = process.env): Dockerode.DockerOptions {
  const url = parseHost(host);
  if (url.protocol === 'unix:') return { socketPath: decodeURIComponent(url.pathname) };
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const tls = url.protocol === 'https:' || (!!env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0');
    const options: Dockerode.DockerOptions = { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || (tls ? 2376 : 2375), protocol: tls ? 'https' : 'http' };
    if (tls) {
      // The docker CLI's convention: ca.pem, cert.pem, key.pem in DOCKER_CERT_PATH (default ~/.docker).
      const certPath = env.DOCKER_CERT_PATH || join(env.HOME || homedir(), '.docker');
      Object.assign(options, { ca: readOptional(join(certPath, 'ca.pem')), cert: readOptional(join(certPath, 'cert.pem')), key: readOptional(join(certPath, 'key.pem')) });
    }
    return options;
  }
  if (url.protocol === 'ssh:') return { protocol: 'ssh', host: url.hostname, port: url.port || 22, username: url.username || undefined };
  throw new UserError(`unsupported Docker host ${host}: use unix://, tcp:// or ssh:// (DOCKER_HOST)`);
}

/**
 * Connects to the engine and checks that it answers and is recent enough. Every failure is one
 * UserError that says what to do.
 */
export async function connectDocker(env: NodeJS.ProcessEnv = process.env, timeoutMs = 10_000): Promise<DockerEngine> {
  const endpoint = await findDockerEndpoint(env);
  const docker = new Dockerode(dockerodeOptions(endpoint.host, env));
  let version: Dockerode.DockerVersion;
  try {
    await withTimeout(docker.ping(), timeoutMs, `no answer within ${timeoutMs / 1000}s`);
    version = await withTimeout(docker.version(), timeoutMs, `no answer within ${timeoutMs / 1000}s`);
  } catch (error) {
    throw engineError(endpoint, error);
  }
  if (compareApiVersions(version.ApiVersion, MIN_API_VERSION) < 0) {
    throw new UserError(
      `the Docker engine at ${endpoint.host} is version ${version.Version} (API ${version.ApiVersion}); the build needs API ${MIN_API_VERSION} (Docker 20.10) or newer: upgrade docker.io`,
    );
  }
  log.debug(`Docker engine ${version.Version} (API ${version.ApiVersion}) at ${endpoint.host} (${endpoint.source})`);
  return { docker, endpoint, version: version.Version, apiVersion: version.ApiVersion, arch: version.Arch };
}

/** The one line a user sees when the engine cannot be used. */
export function engineError(endpoint: DockerEndpoint, error: unknown): UserError {
  const code = (error as { code?: string }).code;
  const where = endpoint.source === 'default' ? endpoint.host : `${endpoint.host} (from ${endpoint.source})`;
  if (code === 'EACCES') {
    return new UserError(`cannot use the Docker engine at ${where}: permission denied; add your user to the docker group (then log in again) or run as root`);
  }
  const reason = code ?? (error instanceof Error ? error.message : String(error));
  log.debug(`Docker engine at ${endpoint.host}: ${reason}`);
  return new UserError(`no Docker engine at ${where}: install docker.io and start dockerd (systemctl start docker), or set DOCKER_HOST`);
}

function parseHost(host: string): URL {
  try {
    return new URL(host);
  } catch {
    throw new UserError(`invalid Docker host ${JSON.stringify(host)}: expected unix:///path, tcp://host:port or ssh://user@host (DOCKER_HOST)`);
  }
}

export function compareApiVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(message), { code: 'ETIMEDOUT' })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UserError(`${path} is not valid JSON; fix or remove it`);
  }
}

function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}
