import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import { UserError } from '@hook/log';
import { DEFAULT_DOCKER_HOST, compareApiVersions, connectDocker, dockerodeOptions, findDockerEndpoint } from './engine';
import { type TestDockerd, ensureDockerd } from './testing';

const configDir = useTempDir('hook-docker-config-');

async function writeContext(name: string, host: string): Promise<void> {
  const dir = join(configDir.path, 'contexts', 'meta', createHash('sha256').update(name).digest('hex'));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }));
}

describe('findDockerEndpoint', () => {
  it('uses the default socket when nothing is configured', async () => {
    expect(await findDockerEndpoint({ DOCKER_CONFIG: configDir.path })).toEqual({ host: DEFAULT_DOCKER_HOST, source: 'default' });
  });

  it('prefers DOCKER_HOST over the current context', async () => {
    await writeFile(join(configDir.path, 'config.json'), JSON.stringify({ currentContext: 'remote' }));
    await writeContext('remote', 'tcp://10.0.0.1:2375');
    const endpoint = await findDockerEndpoint({ DOCKER_CONFIG: configDir.path, DOCKER_HOST: 'unix:///run/other.sock' });
    expect(endpoint).toEqual({ host: 'unix:///run/other.sock', source: 'DOCKER_HOST' });
  });

  it("follows config.json's currentContext to the context's endpoint", async () => {
    await writeFile(join(configDir.path, 'config.json'), JSON.stringify({ currentContext: 'remote' }));
    await writeContext('remote', 'tcp://10.0.0.1:2375');
    expect(await findDockerEndpoint({ DOCKER_CONFIG: configDir.path })).toEqual({ host: 'tcp://10.0.0.1:2375', source: 'context remote' });
  });

  it('lets DOCKER_CONTEXT choose the context', async () => {
    await writeFile(join(configDir.path, 'config.json'), JSON.stringify({ currentContext: 'remote' }));
    await writeContext('remote', 'tcp://10.0.0.1:2375');
    await writeContext('other', 'unix:///run/other.sock');
    expect((await findDockerEndpoint({ DOCKER_CONFIG: configDir.path, DOCKER_CONTEXT: 'other' })).host).toBe('unix:///run/other.sock');
    expect((await findDockerEndpoint({ DOCKER_CONFIG: configDir.path, DOCKER_CONTEXT: 'default' })).host).toBe(DEFAULT_DOCKER_HOST);
  });

  it('names a context that does not exist and how to get out of it', async () => {
    await writeFile(join(configDir.path, 'config.json'), JSON.stringify({ currentContext: 'gone' }));
    await expect(findDockerEndpoint({ DOCKER_CONFIG: configDir.path })).rejects.toThrow(/Docker context "gone" has no Docker endpoint .*docker context use default/);
  });
});

describe('dockerodeOptions', () => {
  it('maps unix, tcp and ssh hosts', () => {
    expect(dockerodeOptions('unix:///var/run/docker.sock', {})).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(dockerodeOptions('tcp://127.0.0.1:2375', {})).toEqual({ host: '127.0.0.1', port: '2375', protocol: 'http' });
    expect(dockerodeOptions('ssh://me@builder', {})).toMatchObject({ protocol: 'ssh', host: 'builder', username: 'me' });
  });

  it('rejects what it cannot use with one line', () => {
    expect(() => dockerodeOptions('npipe:////./pipe/docker_engine', {})).toThrow(UserError);
    expect(() => dockerodeOptions('not a host', {})).toThrow(/invalid Docker host "not a host"/);
  });
});

describe('compareApiVersions', () => {
  it('compares numerically, not as text', () => {
    expect(compareApiVersions('1.41', '1.41')).toBe(0);
    expect(compareApiVersions('1.9', '1.41')).toBeLessThan(0);
    expect(compareApiVersions('1.50', '1.41')).toBeGreaterThan(0);
  });
});

describe('connectDocker', () => {
  it('explains a missing engine in one line', async () => {
    const missing = join(configDir.path, 'nothing-here.sock');
    const error = await connectDocker({ DOCKER_HOST: `unix://${missing}`, DOCKER_CONFIG: configDir.path }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      `no Docker engine at unix://${missing} (from DOCKER_HOST): install docker.io and start dockerd (systemctl start docker), or set DOCKER_HOST`,
    );
    expect((error as Error).message).not.toContain('\n');
  });
});

// Needs the Debian package docker.io (and root, when no engine is running yet).
describe('Docker engine (integration)', () => {
  let dockerd: TestDockerd;
  beforeAll(async () => {
    dockerd = await ensureDockerd();
  }, 90_000);
  afterAll(async () => {
    await dockerd?.stop();
  }, 30_000);

  it('connects to the running engine and reports its version and architecture', async () => {
    const engine = await connectDocker({ ...process.env, DOCKER_HOST: '' , DOCKER_CONFIG: configDir.path });
    expect(engine.endpoint).toEqual({ host: DEFAULT_DOCKER_HOST, source: 'default' });
    expect(engine.version).toMatch(/^\d+\.\d+/);
    expect(compareApiVersions(engine.apiVersion, '1.41')).toBeGreaterThanOrEqual(0);
    expect(['amd64', 'arm64']).toContain(engine.arch);
  });

  it('reaches the engine through a Docker context', async () => {
    await writeFile(join(configDir.path, 'config.json'), JSON.stringify({ currentContext: 'local' }));
    await writeContext('local', DEFAULT_DOCKER_HOST);
    const engine = await connectDocker({ ...process.env, DOCKER_HOST: '', DOCKER_CONFIG: configDir.path });
    expect(engine.endpoint.source).toBe('context local');
    expect(engine.version).toBe(dockerd.engine.version);
  });
});
