/**
 * images/hook-docker/bootkit.sh with busybox sh against a real dockerd (started by the real
 * hook-docker.sh) and Debian's docker-registry with htpasswd on loopback, plus a server that
 * logs every Authorization header it gets. Needs root, docker.io, docker-registry,
 * apache2-utils and busybox-static.
 */
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestRegistry, startRegistry } from '@hook/testing';
import { type AuthLoggingRegistry, BOOTKIT_SCRIPT, type HookDocker, type RunningScript, WORKER_ENV_NAMES, buildStandInWorker, runScript, startAuthLoggingRegistry, startHookDocker, startScript } from './index';

const USER = 'hook';
const PASSWORD = 'worker-secret';

let hookDocker: HookDocker | undefined;
let registry: TestRegistry | undefined;
let otherRegistry: AuthLoggingRegistry | undefined;
let dir: string;
let standIn: string;
let exitingStandIn: string;
const running = new Set<RunningScript>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hook-bootkit-'));
  await mkdir(join(dir, 'host-run'));
  await writeFile(join(dir, 'host-run/hook-test-marker'), '');
  registry = await startRegistry({ auth: { username: USER, password: PASSWORD }, startTimeoutMs: 40_000 });
  otherRegistry = await startAuthLoggingRegistry();
  hookDocker = await startHookDocker({ cmdline: 'console=ttyS0\n' });
  standIn = `${registry.host}/hook-test/standin:1`;
  exitingStandIn = `${registry.host}/hook-test/standin-exits:1`;
  await buildStandInWorker({ ref: standIn, dockerHost: hookDocker.dockerHost });
  await buildStandInWorker({ ref: exitingStandIn, dockerHost: hookDocker.dockerHost, exitCode: 3 });
  // Push with credentials from a config of our own, then forget the images: bootkit pulls.
  const pushConfig = join(dir, 'push-config');
  await mkdir(pushConfig);
  await writeFile(join(pushConfig, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
  for (const ref of [standIn, exitingStandIn]) {
    await hookDocker.docker(['push', ref], { env: { DOCKER_CONFIG: pushConfig } });
    await hookDocker.docker(['rmi', ref]);
  }
}, 180_000);

afterEach(async () => {
  for (const script of running) await script.stop();
  running.clear();
}, 60_000);

afterAll(async () => {
  await hookDocker?.stop();
  await registry?.stop();
  await otherRegistry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 90_000);

function bootkitEnv(cmdline: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const cmdlinePath = join(dir, `cmdline-${Math.random().toString(36).slice(2)}`);
  return {
    ...process.env,
    PATH: hookDocker!.path,
    TMPDIR: dir,
    HOOK_CMDLINE: cmdlinePath,
    HOOK_DOCKER_SOCKET: hookDocker!.socket,
    HOOK_WORKER_DIR: hookDocker!.workerDir,
    HOOK_HOST_RUN_DIR: join(dir, 'host-run'),
    HOOK_BOOTKIT_RETRY_SECONDS: '1',
    ...extra,
  };
}

async function startBootkit(cmdline: string, extra: Record<string, string> = {}): Promise<RunningScript> {
  const env = bootkitEnv(cmdline, extra);
  await writeFile(env.HOOK_CMDLINE!, cmdline);
  const script = await startScript(BOOTKIT_SCRIPT, [], env, 5 * 60_000);
  running.add(script);
  return script;
}

async function bootkitOnce(cmdline: string, extra: Record<string, string> = {}) {
  const env = bootkitEnv(cmdline, extra);
  await writeFile(env.HOOK_CMDLINE!, cmdline);
  return runScript(BOOTKIT_SCRIPT, ['once'], env, 120_000);
}

async function inspect(name: string): Promise<Record<string, any>> {
  return (JSON.parse((await hookDocker!.docker(['inspect', name])).stdout) as Array<Record<string, any>>)[0];
}

const fullCmdline = () =>
  `console=ttyS0 tink_worker_image=${standIn} docker_registry=${registry!.host} registry_username=${USER} registry_password=${PASSWORD} ` +
  'grpc_authority=127.0.0.1:42113 worker_id=52:54:00:12:34:56 hw_addr=52:54:00:12:34:56 tinkerbell_tls=false tinkerbell_insecure_tls=false ' +
  'HTTP_PROXY=http://127.0.0.1:3128 HTTPS_PROXY=http://127.0.0.1:3129 NO_PROXY=127.0.0.1,localhost syslog_host=127.0.0.1\n';

describe('bootkit against a real dockerd and registry (integration)', () => {
  it('pulls with credentials and starts tink-worker with the contract environment and mounts, then keeps watching it', async () => {
    const bootkit = await startBootkit(fullCmdline());
    await bootkit.waitFor((l) => l.msg === 'the tink-worker container is running', 90_000, 'the worker running');
    expect(bootkit.lines()).toContainEqual(expect.objectContaining({ msg: 'pulled the worker image', image: standIn }));
    expect(bootkit.lines().at(-1)).toMatchObject({ level: 'info', msg: 'the tink-worker container is running', service: 'bootkit' });

    const worker = await inspect('tink-worker');
    expect(worker.Name).toBe('/tink-worker');
    expect(worker.Config.Image).toBe(standIn);
    expect(worker.State.Running).toBe(true);
    expect(worker.HostConfig.Privileged).toBe(true);
    expect(worker.HostConfig.NetworkMode).toBe('host');
    expect(worker.HostConfig.RestartPolicy.Name).toMatch(/^(no)?$/);
    expect(worker.Config.Entrypoint).toEqual(['/standin.sh']);
    const env = Object.fromEntries((worker.Config.Env as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    expect(Object.fromEntries(WORKER_ENV_NAMES.map((n) => [n, env[n]]))).toEqual({
      DOCKER_REGISTRY: registry!.host,
      REGISTRY_USERNAME: USER,
      REGISTRY_PASSWORD: PASSWORD,
      TINKERBELL_GRPC_AUTHORITY: '127.0.0.1:42113',
      TINKERBELL_TLS: 'false',
      TINKERBELL_INSECURE_TLS: 'false',
      WORKER_ID: '52:54:00:12:34:56',
      ID: '52:54:00:12:34:56',
      HTTP_PROXY: 'http://127.0.0.1:3128',
      HTTPS_PROXY: 'http://127.0.0.1:3129',
      NO_PROXY: '127.0.0.1,localhost',
    });
    expect((worker.Mounts as Array<Record<string, string>>).map((m) => [m.Type, m.Source, m.Destination]).sort()).toEqual(
      [
        ['bind', hookDocker!.workerDir, '/worker'],
        ['bind', hookDocker!.socket, '/var/run/docker.sock'],
        ['bind', '/dev', '/dev'],
        ['bind', join(dir, 'host-run'), '/run'],
      ].sort(),
    );

    // What the worker itself sees.
    const logs = (await hookDocker!.docker(['logs', 'tink-worker'])).stdout;
    // privileged: capabilities an unprivileged container never has (NET_ADMIN, SYS_MODULE, SYS_RAWIO, SYS_ADMIN)
    const capEff = BigInt(`0x${/STANDIN cap_eff ([0-9a-f]+)/.exec(logs)![1]}`);
    const privilegedOnly = (1n << 12n) | (1n << 16n) | (1n << 17n) | (1n << 21n);
    expect(capEff & privilegedOnly).toBe(privilegedOnly);
    expect(logs).toContain('STANDIN mount /worker writable');
    expect(logs).toContain('STANDIN mount /var/run/docker.sock socket');
    expect(logs).toMatch(/STANDIN mount \/run .*hook-test-marker/);
    expect(logs).toContain(`STANDIN env WORKER_ID=52:54:00:12:34:56`);
    expect(logs).toContain('STANDIN ready');
    expect(await readFile(join(hookDocker!.workerDir, 'standin.env'), 'utf8')).toContain(`REGISTRY_PASSWORD=${PASSWORD}`);
  }, 120_000);

  it('replaces an old tink-worker container', async () => {
    const old = (await inspect('tink-worker')).Id as string;
    const result = await bootkitOnce(fullCmdline());
    expect(result.exitCode).toBe(0);
    expect(result.lines).toContainEqual(expect.objectContaining({ msg: 'removing the old tink-worker container' }));
    const current = await inspect('tink-worker');
    expect(current.Id).not.toBe(old);
    expect(current.State.Running).toBe(true);
    expect((await hookDocker!.docker(['inspect', old], { allowFailure: true })).exitCode).not.toBe(0);
  }, 120_000);

  it('sends the credentials to a registry only when it is docker_registry (a server that logs Authorization)', async () => {
    const image = `${otherRegistry!.host}/hook-test/standin:1`;
    const creds = `registry_username=${USER} registry_password=${PASSWORD}`;
    // another registry is configured: the pull to this one goes without credentials
    otherRegistry!.requests.length = 0;
    const without = await bootkitOnce(`tink_worker_image=${image} docker_registry=${registry!.host} ${creds}`, { HOOK_BOOTKIT_BACKOFF_MAX_ELAPSED_MS: '1500' });
    expect(without.exitCode).toBe(1);
    expect(otherRegistry!.requests.length).toBeGreaterThan(0);
    expect(otherRegistry!.requests.filter((r) => r.authorization)).toEqual([]);
    // control: the same server as docker_registry gets them
    otherRegistry!.requests.length = 0;
    const withCreds = await bootkitOnce(`tink_worker_image=${image} docker_registry=${otherRegistry!.host} ${creds}`, { HOOK_BOOTKIT_BACKOFF_MAX_ELAPSED_MS: '0' });
    expect(withCreds.exitCode).toBe(1);
    expect(otherRegistry!.requests.map((r) => r.authorization)).toContain(`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`);
  }, 120_000);

  it('a wrong password is logged and retried, never a crash', async () => {
    await hookDocker!.docker(['rmi', '--force', standIn]);
    const bootkit = await startBootkit(`tink_worker_image=${standIn} docker_registry=${registry!.host} registry_username=${USER} registry_password=wrong`);
    const retries = () => bootkit.lines().filter((l) => l.msg === 'pulling the worker image failed; retrying');
    await bootkit.waitFor(() => retries().length >= 2, 60_000, 'two retried pulls');
    expect(retries()[0].error).toMatch(/unauthorized|authentication required|no basic auth credentials/i);
    expect(Number(retries()[1].retry_in_ms)).toBeGreaterThanOrEqual(375);
    expect(await bootkit.stop()).toBe(143);
  }, 90_000);

  it('a missing image is logged and retried; past the backoff limit the whole round starts over', async () => {
    const image = `${registry!.host}/hook-test/missing:1`;
    const bootkit = await startBootkit(`tink_worker_image=${image} docker_registry=${registry!.host} registry_username=${USER} registry_password=${PASSWORD}`, {
      HOOK_BOOTKIT_BACKOFF_MAX_ELAPSED_MS: '2000',
    });
    const roundFailed = await bootkit.waitFor((l) => l.msg === 'starting the worker failed; trying again in 1 s', 60_000, 'a failed round');
    expect(roundFailed.error).toMatch(new RegExp(`^pulling ${image.replace(/[./]/g, '\\$&')} failed for \\d+ s, giving up this round: .*(not found|manifest unknown)`, 'i'));
    const firstAttempts = () => bootkit.lines().filter((l) => l.msg === 'pulling the worker image' && l.attempt === '1');
    await bootkit.waitFor(() => firstAttempts().length >= 2, 30_000, 'a second round');
    expect(await bootkit.stop()).toBe(143);
  }, 90_000);

  it('a worker that stops at once is reported with its exit code and output, and the round starts again', async () => {
    const bootkit = await startBootkit(`tink_worker_image=${exitingStandIn} docker_registry=${registry!.host} registry_username=${USER} registry_password=${PASSWORD}`);
    const failed = await bootkit.waitFor((l) => l.msg === 'starting the worker failed; trying again in 1 s', 60_000, 'a failed round');
    expect(failed.error).toBe('the tink-worker container stopped within 3 s (exit code 3); its last output: STANDIN exiting 3');
    await bootkit.waitFor((l) => l.msg === 'creating the tink-worker container' && bootkit.lines().indexOf(l) > bootkit.lines().indexOf(failed), 30_000, 'a second round');
    expect(await bootkit.stop()).toBe(143);
  }, 90_000);

  it('an image already there (embedded) starts although its registry cannot be reached', async () => {
    const embedded = '127.0.0.1:1/embedded/standin:1';
    await buildStandInWorker({ ref: embedded, dockerHost: hookDocker!.dockerHost });
    const result = await bootkitOnce(`tink_worker_image=${embedded}`);
    expect(result.exitCode).toBe(0);
    expect(result.lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'the worker image is already there; using it, as the pull failed', image: embedded }));
    expect((await inspect('tink-worker')).Config.Image).toBe(embedded);
    expect((await stat(join(hookDocker!.workerDir, 'standin-was-here'))).isFile()).toBe(true);
  }, 120_000);

  it('an embedded image is used even when dockerd answers only after the first attempts (they start together)', async () => {
    const embedded = '127.0.0.1:1/embedded/standin-late:1';
    await buildStandInWorker({ ref: embedded, dockerHost: hookDocker!.dockerHost });
    const lateSocket = join(dir, 'late.sock');
    await rm(lateSocket, { force: true });
    const bootkit = await startBootkit(`tink_worker_image=${embedded}`, { HOOK_DOCKER_SOCKET: lateSocket });
    await bootkit.waitFor((l) => l.msg === 'pulling the worker image failed; retrying' && /Cannot connect to the Docker daemon/.test(l.error), 30_000, 'a pull without dockerd');
    await symlink(hookDocker!.socket, lateSocket);
    await bootkit.waitFor((l) => l.msg === 'the tink-worker container is running', 60_000, 'the worker running');
    expect(bootkit.lines()).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'the worker image is already there; using it, as the pull failed', image: embedded }));
    expect((await inspect('tink-worker')).Config.Image).toBe(embedded);
  }, 120_000);

  it('starts the worker again when it exits (status 1 after it ran), saying why; stops for good on SIGTERM', async () => {
    const image = '127.0.0.1:1/hook-test/standin-exits-once:1';
    await buildStandInWorker({ ref: image, dockerHost: hookDocker!.dockerHost, exitOnce: { afterSeconds: 6, code: 1 } });
    await rm(join(hookDocker!.workerDir, 'standin-exited-once'), { force: true });
    const bootkit = await startBootkit(`tink_worker_image=${image}`);
    const first = await bootkit.waitFor((l) => l.msg === 'the tink-worker container is running', 60_000, 'the first start');
    const restart = await bootkit.waitFor((l) => l.msg === 'the worker stopped; starting it again in 1 s', 60_000, 'the restart');
    expect(restart).toMatchObject({ level: 'warn', reason: expect.stringMatching(/^the tink-worker container exited with status 1; its last output: .*STANDIN ready STANDIN exiting 1$/) });
    await bootkit.waitFor((l) => l.msg === 'the tink-worker container is running' && l !== first, 60_000, 'the second start');
    expect((await inspect('tink-worker')).State.Running).toBe(true);
    expect(await bootkit.stop()).toBe(143);
  }, 150_000);

  it('starts the worker again after dockerd was killed and hook-docker restarted it', async () => {
    const image = '127.0.0.1:1/hook-test/standin-survivor:1';
    await buildStandInWorker({ ref: image, dockerHost: hookDocker!.dockerHost });
    const bootkit = await startBootkit(`tink_worker_image=${image}`);
    const first = await bootkit.waitFor((l) => l.msg === 'the tink-worker container is running', 60_000, 'the first start');
    const before = (await hookDocker!.dockerdPid())!;
    process.kill(before, 'SIGKILL');
    await hookDocker!.waitForEngine(90_000, before);
    await bootkit.waitFor((l) => l.msg === 'lost the Docker engine while watching the worker; waiting for it to answer again', 30_000, 'the lost engine');
    await bootkit.waitFor((l) => l.msg === 'the tink-worker container is running' && l !== first, 120_000, 'the worker running again');
    expect((await inspect('tink-worker')).State.Running).toBe(true);
    expect(await bootkit.stop()).toBe(143);
  }, 240_000);

  it('end to end: the worker starts a child container that creates /worker/reboot, and hook-docker reboots', async () => {
    const image = '127.0.0.1:1/hook-test/standin-reboot:1';
    await buildStandInWorker({ ref: image, dockerHost: hookDocker!.dockerHost, rebootChild: true });
    await rm(hookDocker!.rebootMarker, { force: true });
    await rm(join(hookDocker!.workerDir, 'reboot'), { force: true });
    const result = await bootkitOnce(`tink_worker_image=${image}`);
    expect(result.exitCode).toBe(0);
    await hookDocker!.service.waitFor((l) => l.msg === `found ${hookDocker!.workerDir}/reboot: rebooting the machine`, 30_000, 'the reboot');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !(await stat(hookDocker!.rebootMarker).catch(() => undefined))) await new Promise((r) => setTimeout(r, 100));
    expect((await stat(hookDocker!.rebootMarker)).isFile()).toBe(true);
    const logs = (await hookDocker!.docker(['logs', 'tink-worker'])).stdout;
    expect(logs).toMatch(/^STANDIN container \/tink-worker privileged=true network=host restart=(no)?$/m);
    const mounts = /^STANDIN container mounts (.*)$/m.exec(logs)![1].trim().split(' ').sort();
    expect(mounts).toEqual([`${hookDocker!.workerDir}:/worker`, `${hookDocker!.socket}:/var/run/docker.sock`, '/dev:/dev', `${join(dir, 'host-run')}:/run`].sort());
    expect(logs).toContain('STANDIN child started');
  }, 120_000);
});
