/**
 * bootkit's command-line parsing and credential decision, table-driven and cheap: the real
 * script and the real docker CLI, against a fake Engine API on a unix socket that records the
 * pull's X-Registry-Auth and the container create body. bootkit.integration.spec.ts proves the
 * same behaviour against a real dockerd and real registries.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { imageFromDist } from '@hook/containers';
import { connectDocker } from '@hook/docker';
import { hostDockerArch } from '@hook/layout';
import { run } from '@hook/process';
import { BOOTKIT_SCRIPT, type FakeEngine, WORKER_ENV_NAMES, busyboxPath, parseLog, runScript, startFakeEngine } from './index';

/**
 * The hook-docker image the test target built first (dependsOn hook-docker:build): the
 * credential table also runs with the docker CLI HookOS ships (Debian's), not only the build
 * host's. A remote-cache hit leaves it in dist/ but not in the engine: it is loaded from there.
 * Without it the in-image table fails, naming what to run: it never passes without checking.
 */
async function builtImage(): Promise<string> {
  const engine = await connectDocker();
  const image = await imageFromDist(engine, resolve(__dirname, '../../..'), 'hook-docker', hostDockerArch());
  return image.ref;
}
let imageRef: string | undefined;
let imageProblem: string | undefined;

let engine: FakeEngine;
let dir: string;
let busybox: Awaited<ReturnType<typeof busyboxPath>>;

beforeAll(async () => {
  engine = await startFakeEngine();
  dir = await mkdtemp(join(tmpdir(), 'hook-bootkit-cmdline-'));
  busybox = await busyboxPath();
  imageRef = await builtImage().catch((error: Error) => {
    imageProblem = error.message;
    return undefined;
  });
}, 60_000);

afterAll(async () => {
  await engine?.stop();
  await busybox?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

/**
 * One `bootkit once` round with this command line (written as given, no newline added): the
 * script from the repository with busybox sh and the host's docker CLI, or (inImage) the
 * script and docker CLI of the built hook-docker image, in a container of the host's engine.
 */
async function bootkitOnce(cmdline: string | undefined, inImage = false) {
  engine.reset();
  const cmdlinePath = join(dir, 'cmdline');
  await rm(cmdlinePath, { force: true });
  if (cmdline !== undefined) await writeFile(cmdlinePath, cmdline);
  const settings = { HOOK_BOOTKIT_CHECK_SECONDS: '0', HOOK_BOOTKIT_BACKOFF_MAX_ELAPSED_MS: '0' };
  const result = inImage
    ? await (async () => {
        const args = ['run', '--rm', '--network', 'none', '-v', `${engine.socket}:/var/run/docker.sock`, '-v', `${cmdlinePath}:/cmdline:ro`, '-e', 'HOOK_CMDLINE=/cmdline'];
        for (const [name, value] of Object.entries(settings)) args.push('-e', `${name}=${value}`);
        const ran = await run('docker', [...args, '--entrypoint', '/usr/bin/bootkit', imageRef!, 'once'], { allowFailure: true, timeoutMs: 60_000 });
        const output = `${ran.stdout}\n${ran.stderr}`.trim();
        return { exitCode: ran.exitCode, lines: parseLog(output), output };
      })()
    : await runScript(BOOTKIT_SCRIPT, ['once'], {
        ...process.env,
        PATH: busybox.path,
        TMPDIR: dir,
        HOOK_CMDLINE: cmdlinePath,
        HOOK_DOCKER_SOCKET: engine.socket,
        ...settings,
      });
  const create = engine.creates[0];
  const env = (create?.body.Env as string[] | undefined) ?? [];
  return {
    ...result,
    pulled: engine.pulls.map((p) => p.image),
    auth: engine.pulls[0]?.auth,
    env: Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])) as Record<string, string>,
    envNames: env.map((e) => e.slice(0, e.indexOf('='))),
    create,
    errors: result.lines.filter((l) => l.level === 'error').map((l) => l.error ?? l.msg),
  };
}

describe('bootkit: the kernel command line', () => {
  const full =
    'console=ttyS0 tink_worker_image=10.0.2.2:5000/standin:t docker_registry=10.0.2.2:5000 registry_username=u registry_password=p ' +
    'grpc_authority=10.0.2.2:42113 worker_id=52:54:00:12:34:56 hw_addr=52:54:00:12:34:56 tinkerbell_tls=false tinkerbell_insecure_tls=true ' +
    'HTTP_PROXY=http://10.0.2.2:3128 HTTPS_PROXY=http://10.0.2.2:3129 NO_PROXY=10.0.2.2,localhost syslog_host=10.0.2.2\n';

  it('creates tink-worker from the image with all 11 variables, the 4 mounts, privileged, host network, no restart policy', async () => {
    const run = await bootkitOnce(full);
    expect(run.exitCode).toBe(0);
    expect(run.pulled).toEqual(['10.0.2.2:5000/standin:t']);
    expect(run.create?.name).toBe('tink-worker');
    expect(run.create?.body.Image).toBe('10.0.2.2:5000/standin:t');
    expect(run.create?.body.Entrypoint ?? null).toBeNull();
    expect(run.create?.body.Cmd ?? null).toBeNull();
    expect([...run.envNames].sort()).toEqual([...WORKER_ENV_NAMES].sort());
    expect(run.env).toEqual({
      DOCKER_REGISTRY: '10.0.2.2:5000',
      REGISTRY_USERNAME: 'u',
      REGISTRY_PASSWORD: 'p',
      TINKERBELL_GRPC_AUTHORITY: '10.0.2.2:42113',
      TINKERBELL_TLS: 'false',
      TINKERBELL_INSECURE_TLS: 'true',
      WORKER_ID: '52:54:00:12:34:56',
      ID: '52:54:00:12:34:56',
      HTTP_PROXY: 'http://10.0.2.2:3128',
      HTTPS_PROXY: 'http://10.0.2.2:3129',
      NO_PROXY: '10.0.2.2,localhost',
    });
    const host = run.create?.body.HostConfig as Record<string, unknown>;
    expect(host.Privileged).toBe(true);
    expect(host.NetworkMode).toBe('host');
    expect((host.RestartPolicy as { Name?: string } | undefined)?.Name ?? '').toMatch(/^(no)?$/);
    expect((host.Mounts as Array<{ Type: string; Source: string; Target: string }>).map((m) => [m.Type, m.Source, m.Target])).toEqual([
      ['bind', '/worker', '/worker'],
      ['bind', engine.socket, '/var/run/docker.sock'],
      ['bind', '/dev', '/dev'],
      ['bind', '/host_root/run', '/run'],
    ]);
  });

  it('sets every variable, empty, when the command line has none of them', async () => {
    const run = await bootkitOnce('tink_worker_image=reg.example/worker:1');
    expect(run.exitCode).toBe(0);
    expect([...run.envNames].sort()).toEqual([...WORKER_ENV_NAMES].sort());
    expect(Object.values(run.env).every((v) => v === '')).toBe(true);
  });

  it.each([
    ['tink_worker_image wins over docker_registry', 'docker_registry=reg.example tink_worker_image=other.example/w:2', 'other.example/w:2'],
    ['docker_registry alone: path.Join(registry, "tink-worker:latest")', 'docker_registry=reg.example:5000', 'reg.example:5000/tink-worker:latest'],
    ['docker_registry with a trailing slash', 'docker_registry=reg.example/', 'reg.example/tink-worker:latest'],
    ['docker_registry with a path and doubled slashes', 'docker_registry=reg.example//tinkerbell/', 'reg.example/tinkerbell/tink-worker:latest'],
    ['an empty tink_worker_image falls back to docker_registry', 'tink_worker_image= docker_registry=reg.example', 'reg.example/tink-worker:latest'],
    ['the last occurrence of a key wins', 'tink_worker_image=a.example/w:1 tink_worker_image=b.example/w:2', 'b.example/w:2'],
    ['a trailing newline, tabs and runs of spaces', '  tink_worker_image=a.example/w:1\t  worker_id=w1 \n', 'a.example/w:1'],
    ['keys are case-sensitive (TINK_WORKER_IMAGE is not read)', 'TINK_WORKER_IMAGE=x.example/w:9 tink_worker_image=a.example/w:1', 'a.example/w:1'],
  ])('%s', async (_name, cmdline, image) => {
    const run = await bootkitOnce(cmdline);
    expect(run.pulled).toEqual([image]);
    expect(run.exitCode).toBe(0);
  });

  it('keeps what follows the first "=" (values with "=") and never evaluates a value', async () => {
    const run = await bootkitOnce('tink_worker_image=a.example/w:1 registry_password=p=q$(touch${IFS}/tmp/x)* worker_id=`id` grpc_authority="x"');
    expect(run.exitCode).toBe(0);
    expect(run.env.REGISTRY_PASSWORD).toBe('p=q$(touch${IFS}/tmp/x)*');
    expect(run.env.WORKER_ID).toBe('`id`');
    expect(run.env.ID).toBe('`id`');
    expect(run.env.TINKERBELL_GRPC_AUTHORITY).toBe('"x"');
  });

  it.each([
    ['a bare key (upstream crashed on it) unsets the value', 'tink_worker_image=a.example/w:1 tink_worker_image'],
    ['a bare docker_registry alone', 'console=ttyS0 docker_registry'],
    ['no image and no registry', 'console=ttyS0 worker_id=w1\n'],
    ['an empty command line', ''],
  ])('%s: one clear error, no pull, no crash', async (_name, cmdline) => {
    const run = await bootkitOnce(cmdline);
    expect(run.exitCode).toBe(1);
    expect(run.pulled).toEqual([]);
    expect(run.errors).toEqual(['no worker image: put tink_worker_image=<image> or docker_registry=<registry> on the kernel command line']);
  });

  it('an unreadable command line is one clear error', async () => {
    const run = await bootkitOnce(undefined);
    expect(run.exitCode).toBe(1);
    expect(run.errors).toEqual([expect.stringMatching(/^cannot read the kernel command line \(.*cmdline\)$/)]);
  });

  it('a docker_registry with a scheme makes an invalid image name: logged, not pulled (as upstream, whose path.Join gives the same name)', async () => {
    const run = await bootkitOnce('docker_registry=https://reg.example');
    expect(run.exitCode).toBe(1);
    expect(run.pulled).toEqual([]);
    expect(run.errors[0]).toMatch(/^pulling https:\/reg\.example\/tink-worker:latest failed .*invalid reference format/);
  });
});

/**
 * Upstream's useAuth table (hook images/hook-bootkit/registry_test.go, PR #282) and a few more,
 * as the docker CLI decides with the private config bootkit writes. `credentials` is whether the
 * pull carried registry_username/registry_password; `refused` means the CLI rejected the image
 * name itself (nothing is pulled, nothing is sent).
 */
type Outcome = 'credentials' | 'none' | 'refused';
const CREDENTIAL_CASES: Array<[string, string, string, Outcome]> = [
  // same as upstream: credentials go to the configured registry, matched exactly
  ['exact match', 'registry.example.com/namespace/image:tag', 'registry.example.com', 'credentials'],
  ['exact match with port', 'registry.example.com:5000/image:tag', 'registry.example.com:5000', 'credentials'],
  ['localhost with port', 'localhost:5000/image:tag', 'localhost:5000', 'credentials'],
  ['Docker Hub short name, registry docker.io', 'ubuntu:20.04', 'docker.io', 'credentials'],
  ['Docker Hub library/ name, registry docker.io', 'library/ubuntu:20.04', 'docker.io', 'credentials'],
  ['Docker Hub user image, registry docker.io', 'username/image:tag', 'docker.io', 'credentials'],
  ['Docker Hub full name, registry docker.io', 'docker.io/library/ubuntu:20.04', 'docker.io', 'credentials'],
  ['IP address with port', '192.168.1.100:5000/image:tag', '192.168.1.100:5000', 'credentials'],
  ['IPv6 address', '[::1]/image:tag', '[::1]', 'credentials'],
  ['full IPv6 address', '[2001:db8::1]/image:tag', '[2001:db8::1]', 'credentials'],
  ['deep path', 'registry.example.com/deep/nested/path/image:tag', 'registry.example.com', 'credentials'],
  ['look-alike: registry name inside a longer host', 'malicious-registry.example.com.evil.com/image:tag', 'registry.example.com', 'none'],
  ['registry name in the path', 'evil.com/registry.example.com/image:tag', 'registry.example.com', 'none'],
  ['subdomain', 'sub.registry.example.com/image:tag', 'registry.example.com', 'none'],
  ['look-alike host with a port', 'registry.example.com.evil:443/image:tag', 'registry.example.com', 'none'],
  ['different port', 'registry.example.com:9999/image:tag', 'registry.example.com:5000', 'none'],
  ['port confusion (80 vs 443)', 'registry.example.com:80/image:tag', 'registry.example.com:443', 'none'],
  ['typo-squatting', 'registr.example.com/image:tag', 'registry.example.com', 'none'],
  ['attacker-controlled subdomain', 'evil.registry.example.com/image:tag', 'registry.example.com', 'none'],
  ['invalid port in the registry setting', 'registry.example.com/image:tag', 'registry.example.com:abc', 'none'],
  ['malformed IPv6 in the registry setting', '[::1]/image:tag', '[::1:5000', 'none'],
  ['Docker Hub image, private registry configured', 'ubuntu:20.04', 'registry.example.com', 'none'],
  ['no registry configured', 'registry.example.com/image:tag', '', 'none'],
  ['case-sensitive host', 'Registry.Example.Com/image:tag', 'registry.example.com', 'none'],
  ['index.docker.io is not docker.io', 'ubuntu:20.04', 'index.docker.io', 'none'],
  ['registry docker.io, image elsewhere', 'quay.io/tinkerbell/tink-worker:latest', 'docker.io', 'none'],
  // the image name itself is invalid: the CLI refuses it (upstream's ParseNormalizedNamed too)
  ['Cyrillic homoglyph in the host', 'registrу.example.com/image:tag', 'registry.example.com', 'refused'],
  ['path traversal', 'evil.com/../registry.example.com/image:tag', 'registry.example.com', 'refused'],
  // where the CLI's rule differs from upstream's (images/README.md): the setting is reduced to
  // its host, as `docker login https://host` is, and credentials still go only to that host
  ['registry with an https scheme (upstream: none)', 'registry.example.com/image:tag', 'https://registry.example.com', 'credentials'],
  ['registry with an http scheme and port (upstream: none)', 'registry.example.com:5000/image:tag', 'http://registry.example.com:5000', 'credentials'],
  ['registry with a path (upstream: none)', 'registry.example.com/tinkerbell/tink-worker:v1', 'registry.example.com/tinkerbell', 'credentials'],
  ['registry with a scheme, image on another host', 'evil.example.com/image:tag', 'https://registry.example.com', 'none'],
];

async function expectCredentials(image: string, registry: string, outcome: Outcome, inImage: boolean) {
  const run = await bootkitOnce(`tink_worker_image=${image} docker_registry=${registry} registry_username=user registry_password=secret`, inImage);
  if (outcome === 'refused') {
    expect(run.pulled).toEqual([]);
    expect(run.errors[0]).toMatch(/invalid reference format/);
    return;
  }
  // On a failure, say what bootkit said (the pull never reached the engine).
  if (run.pulled.length !== 1) throw new Error(`expected one pull of ${image}, the engine saw ${run.pulled.length}; bootkit said:\n${run.output}`);
  if (outcome === 'credentials') expect(run.auth).toMatchObject({ username: 'user', password: 'secret' });
  else expect(JSON.stringify(run.auth)).not.toMatch(/user|secret/);
}

describe('bootkit in the built hook-docker image (its own docker CLI): the credential table', () => {
  it.each(CREDENTIAL_CASES)('%s: image %s, docker_registry %s -> %s', async (_name, image, registry, outcome) => {
    if (!imageRef) throw new Error(`the built hook-docker image is needed: ${imageProblem}`);
    await expectCredentials(image, registry, outcome, true);
  });
});

describe('bootkit: registry credentials go only to the configured registry (docker CLI rule)', () => {
  // IPv6 hosts are HookOS's own CLI's to answer, in the in-image table above: a host's CLI
  // older than Docker 26 cannot parse them at all.
  it.each(CREDENTIAL_CASES.filter(([, image]) => !image.startsWith('[')))('%s: image %s, docker_registry %s -> %s', async (_name, image, registry, outcome) => {
    await expectCredentials(image, registry, outcome, false);
  });

  it('sends nothing when no username or password is set', async () => {
    const run = await bootkitOnce('tink_worker_image=registry.example.com/image:tag docker_registry=registry.example.com');
    expect(run.pulled).toHaveLength(1);
    expect(run.auth?.username ?? '').toBe('');
    expect(run.auth?.password ?? '').toBe('');
  });

  it('JSON-escapes credentials: quotes and backslashes arrive as typed', async () => {
    const run = await bootkitOnce('tink_worker_image=registry.example.com/image:tag docker_registry=registry.example.com registry_username=u"1 registry_password=p\\w"d');
    expect(run.auth).toMatchObject({ username: 'u"1', password: 'p\\w"d' });
  });
});
