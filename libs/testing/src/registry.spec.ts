// Needs Debian packages docker-registry and apache2-utils.
import { startRegistry, type TestRegistry } from './registry';

// Starting registries can take seconds on a busy machine (startRegistry itself is bounded).
jest.setTimeout(60_000);

describe('startRegistry (integration: real docker-registry on loopback)', () => {
  const started: TestRegistry[] = [];
  afterAll(async () => {
    await Promise.all(started.map((r) => r.stop()));
  });

  it('serves the distribution API anonymously, and stops', async () => {
    const registry = await startRegistry();
    started.push(registry);
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const response = await fetch(`http://${registry.host}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    await registry.stop();
    await expect(fetch(`http://${registry.host}/v2/`)).rejects.toThrow();
    await registry.stop(); // twice is fine
  });

  it('asks for Basic credentials when started with auth, and accepts the right ones', async () => {
    const registry = await startRegistry({ auth: { username: 'hook', password: 's3cret' } });
    started.push(registry);
    const anonymous = await fetch(`http://${registry.host}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const good = await fetch(`http://${registry.host}/v2/`, { headers: { authorization: `Basic ${Buffer.from('hook:s3cret').toString('base64')}` } });
    expect(good.status).toBe(200);
    const bad = await fetch(`http://${registry.host}/v2/`, { headers: { authorization: `Basic ${Buffer.from('hook:wrong').toString('base64')}` } });
    expect(bad.status).toBe(401);
  });

  it('runs two registries side by side on different ports', async () => {
    const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    started.push(a!, b!);
    expect(a!.host).not.toBe(b!.host);
  });
});
