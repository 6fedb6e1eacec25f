/**
 * The worker starts (issue 11), end to end in QEMU (hook-debian-amd64, TCG): bootkit pulls the
 * stand-in worker (libs/worker) from a registry with htpasswd, hook-docker runs it with the
 * command line's settings, the stand-in reports on the serial console what it sees, starts a
 * child that creates /worker/reboot, and the machine reboots (QEMU exits: -no-reboot).
 * Three boots: the full one on a test namespace's network (worker-net.ts), the worker only
 * embedded with no registry reachable, and a boot with no image on the command line, in which
 * bootkit (the same script, in the hook-docker container) is also run once against an image on
 * another registry, which must be pulled without credentials.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMBEDDED_STORAGE_TAR, prepareEmbeddedContext } from '@hook/containers';
import { run } from '@hook/process';
import type { GuestSession } from '@hook/qemu';
import { startRegistry } from '@hook/testing';
import { WORKER_ENV_NAMES, buildStandInWorker } from '@hook/worker';
import { appendToInitramfs } from './fixtures';
import { ALL_SERVICES_STARTED, TEST_MAC, bootHookOs, bootTest, containerReport, flavorBootFiles, guestCommand, loginOnConsole } from './hookos';
import { createNetns } from './netns';
import { AUTH_REGISTRY, CLOSED_PROXY, OPEN_REGISTRY, TLS_REGISTRY, WORKER_NET_HOST, type WorkerNetwork, startWorkerNetwork } from './worker-net';

const WORKSPACE = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';
const REPOSITORY = 'hook-test/standin';
const TAG = 'e2e';
const IMAGE = `${AUTH_REGISTRY}/${REPOSITORY}:${TAG}`;
/** A stand-in that exits with status 1 30 s after its first start (a worker that crashes once). */
const CRASHING_IMAGE = `${AUTH_REGISTRY}/${REPOSITORY}-crashes-once:${TAG}`;
/** One layer of 100 MB that does not compress: more than Docker's storage has left once the test fills it. */
const BIG_IMAGE = `${AUTH_REGISTRY}/hook-test/big:${TAG}`;
const BIG_LAYER_MB = 100;
const AUTH = { username: 'hookworker', password: 'e2e-secret' };
const BOOT_TIMEOUT_MS = 6 * 60 * 1000;
const DOCKERD_READY = /hook: docker: dockerd answers on \S+ \(Docker [^)]+\)/;
/** The console's shell runs in the getty container (pid: host): this runs a command in the machine's mount namespace, where runc and jq are. */
const HOST = 'nsenter -t 1 -m --';
const EXPECTED_SERVICES = ['acpi', 'dhcp-daemon', 'getty', 'hook-bootkit', 'hook-docker', 'ntpd', 'udev'];

/** Everything the full boot's command line gives; the embedded boot uses the same. */
const FULL_CMDLINE: Record<string, string> = {
  tink_worker_image: IMAGE,
  docker_registry: AUTH_REGISTRY,
  registry_username: AUTH.username,
  registry_password: AUTH.password,
  insecure_registries: `${AUTH_REGISTRY},${OPEN_REGISTRY}`,
  grpc_authority: `${WORKER_NET_HOST}:42113`,
  worker_id: TEST_MAC,
  hw_addr: TEST_MAC,
  tinkerbell_tls: 'false',
  tinkerbell_insecure_tls: 'false',
  HTTP_PROXY: CLOSED_PROXY,
  HTTPS_PROXY: CLOSED_PROXY,
  NO_PROXY: WORKER_NET_HOST,
  syslog_host: WORKER_NET_HOST,
};
const cmdlineOf = (params: Record<string, string>) => Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ');

/** What bootkit must hand the worker, from FULL_CMDLINE (contract section 2). */
const EXPECTED_ENV: Record<(typeof WORKER_ENV_NAMES)[number], string> = {
  DOCKER_REGISTRY: AUTH_REGISTRY,
  REGISTRY_USERNAME: AUTH.username,
  REGISTRY_PASSWORD: AUTH.password,
  TINKERBELL_GRPC_AUTHORITY: `${WORKER_NET_HOST}:42113`,
  TINKERBELL_TLS: 'false',
  TINKERBELL_INSECURE_TLS: 'false',
  WORKER_ID: TEST_MAC,
  ID: TEST_MAC,
  HTTP_PROXY: CLOSED_PROXY,
  HTTPS_PROXY: CLOSED_PROXY,
  NO_PROXY: WORKER_NET_HOST,
};

jest.setTimeout(BOOT_TIMEOUT_MS + 180_000);

let work: string;
let registryStorage: string;
const timings: Record<string, unknown> = {};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hook-worker-e2e-'));
  // The stand-in, built in the host's engine under the name the guest pulls; pushed to a
  // registry on loopback whose storage then serves the test namespace's registries.
  await buildStandInWorker({ ref: IMAGE, console: true, rebootChild: true });
  await buildStandInWorker({ ref: CRASHING_IMAGE, console: true, exitOnce: { afterSeconds: 30, code: 1 } });
  const big = join(work, 'big');
  await mkdir(big);
  writeFileSync(join(big, 'layer'), randomBytes(BIG_LAYER_MB * 1024 * 1024));
  writeFileSync(join(big, 'Dockerfile'), 'FROM scratch\nCOPY layer /layer\n');
  await run('docker', ['build', '-q', '-t', BIG_IMAGE, big], { timeoutMs: 120_000 });
  await rm(big, { recursive: true });
  // The TLS registry's certificate: valid from now, for its address.
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=hook-boot-test', '-addext', `subjectAltName=IP:${WORKER_NET_HOST}`, '-keyout', join(work, 'tls.key'), '-out', join(work, 'tls.crt')]);
  const loopback = await startRegistry({ startTimeoutMs: 40_000 });
  const pushed = [IMAGE, CRASHING_IMAGE, BIG_IMAGE].map((image) => [image, image.replace(AUTH_REGISTRY, loopback.host)]);
  try {
    for (const [image, onLoopback] of pushed) {
      await run('docker', ['tag', image, onLoopback]);
      await run('docker', ['push', onLoopback], { timeoutMs: 120_000 });
    }
    registryStorage = join(work, 'registry');
    await run('cp', ['-a', loopback.storageDir, registryStorage]);
  } finally {
    for (const [, onLoopback] of pushed) await run('docker', ['rmi', onLoopback], { allowFailure: true });
    await loopback.stop();
  }
}, 180_000);

afterAll(async () => {
  await run('docker', ['rmi', IMAGE, CRASHING_IMAGE, BIG_IMAGE], { allowFailure: true });
  if (work) await rm(work, { recursive: true, force: true });
  const dir = join(WORKSPACE, 'dist', 'boot-test');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'worker-timing.json'), `${JSON.stringify(timings, null, 2)}\n`);
  console.log(`worker boot timing (seconds since QEMU started):\n${JSON.stringify(timings, null, 2)}`);
});

/** Seconds since QEMU started at which each line first appeared. */
function timingOf(session: GuestSession, marks: Record<string, string | RegExp>): Record<string, number | undefined> {
  const result: Record<string, number | undefined> = {};
  for (const [name, pattern] of Object.entries(marks)) {
    const index = typeof pattern === 'string' ? session.output.indexOf(pattern) : session.output.search(pattern);
    const seconds = index < 0 ? undefined : session.secondsAt(index);
    result[name] = seconds === undefined ? undefined : Math.round(seconds * 10) / 10;
  }
  return result;
}

/** Every onboot container exited 0, every service started, nothing failed, up to `until`. */
function expectCleanUpTo(session: GuestSession, until: number): void {
  const report = containerReport(session.output.slice(0, until));
  expect(report.problems).toEqual([]);
  expect([...report.servicesStarted].sort()).toEqual(EXPECTED_SERVICES);
}

/** The stand-in's report: every STANDIN line as its text after "STANDIN ". */
function standInLines(session: GuestSession): string[] {
  return [...session.output.matchAll(/STANDIN (.*)$/gm)].map((m) => m[1].trim());
}

function expectWorkerAsContracted(session: GuestSession): void {
  const lines = standInLines(session);
  for (const name of WORKER_ENV_NAMES) expect(lines).toContain(`env ${name}=${EXPECTED_ENV[name]}`);
  // Privileged: every capability (41 on this kernel and up).
  const capEff = lines.find((l) => l.startsWith('cap_eff '))!.split(' ')[1];
  expect(BigInt(`0x${capEff}`) & 0xffffffffffn).toBe(0xffffffffffn);
  // Host network: the machine's NIC, not a container's veth.
  expect(lines.find((l) => l.startsWith('net '))!.split(' ')).toContain('eth0');
  expect(lines).toContain('mount /worker writable');
  expect(lines).toContain('mount /var/run/docker.sock socket');
  expect(Number(/^mount \/dev\/disk\/by-id (\d+)$/m.exec(lines.join('\n'))?.[1])).toBeGreaterThan(0);
  // The host's /run: the udev database and the init's state are there.
  expect(lines.find((l) => l.startsWith('mount /run '))!.split(' ')).toEqual(expect.arrayContaining(['udev', 'hook']));
  expect(lines).toContainEqual(expect.stringMatching(/^container \/tink-worker privileged=true network=host restart=(no)?$/));
  const mounts = lines.find((l) => l.startsWith('container mounts '))!.replace('container mounts ', '').split(' ').sort();
  expect(mounts).toEqual(['/worker:/worker', '/var/run/docker.sock:/var/run/docker.sock', '/dev:/dev', '/host_root/run:/run'].sort());
  expect(lines).toContain('child started');
}

/**
 * One `bootkit once` round in the booted machine's hook-docker container (its image, its engine)
 * for IMAGE, giving up its pulls after `giveUpMs` instead of 15 min: its exit status and log.
 */
async function bootkitOnce(session: GuestSession, image: string, giveUpMs = 3000): Promise<{ status: number; log: string }> {
  await guestCommand(session, `echo '${cmdlineOf({ ...FULL_CMDLINE, tink_worker_image: image })}' >/run/bootkit-once-cmdline`);
  const { status } = await session.shell(`${HOST} runc --root /run/runc exec --env HOOK_CMDLINE=/host_root/run/bootkit-once-cmdline --env HOOK_BOOTKIT_BACKOFF_MAX_ELAPSED_MS=${giveUpMs} hook-docker /usr/bin/bootkit once >/run/bootkit-once.log 2>&1`, 240_000);
  return { status, log: await guestCommand(session, 'cat /run/bootkit-once.log') };
}

describe('the Tinkerbell worker starts (hook-debian-amd64, QEMU TCG)', () => {
  let network: WorkerNetwork | undefined;
  let session: GuestSession | undefined;
  let netnsDispose: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await session?.close();
    await network?.dispose();
    await netnsDispose?.();
    session = undefined;
    network = undefined;
    netnsDispose = undefined;
  });

  bootTest('pulls the worker with credentials, runs it as the contract says, logs to syslog, and reboots when a child creates /worker/reboot', async () => {
    network = await startWorkerNetwork({ registryStorage, auth: AUTH });
    const started = Date.now();
    session = await bootHookOs({
      workspaceRoot: WORKSPACE,
      flavorId: FLAVOR,
      name: 'worker',
      cmdline: cmdlineOf(FULL_CMDLINE),
      network: { kind: 'tap', netns: network.netns.name, tap: network.tap },
    });
    await session.waitFor(DOCKERD_READY, BOOT_TIMEOUT_MS);
    const ready = await session.waitFor('STANDIN ready', BOOT_TIMEOUT_MS);
    await session.waitFor(/STANDIN child (started|failed.*)/, 120_000);
    await session.waitForExit(120_000);
    const seconds = (Date.now() - started) / 1000;

    expectCleanUpTo(session, ready.index);
    expect(session.output).toMatch(/hook: network: eth0 192\.168\.100\.\d+\/24; nameservers: 192\.168\.100\.1/);
    expect(await network.dhcpLog()).toMatch(new RegExp(`DHCPACK\\(hookbr0\\) 192\\.168\\.100\\.\\d+ ${TEST_MAC}`));
    expectWorkerAsContracted(session);
    // dockerd's syslog driver sent the worker's output to syslog_host:514.
    expect(network.syslog.some((m) => /^<\d+>/.test(m) && m.includes('STANDIN ready'))).toBe(true);
    // The reboot: services stopped in order, then QEMU ended (-no-reboot).
    expect(session.output.slice(ready.index)).toContain('hook: services stopped');
    timings.full = { ...timingOf(session, { servicesStarted: ALL_SERVICES_STARTED, dockerdReady: DOCKERD_READY, workerRunning: 'STANDIN env', childStarted: 'STANDIN child started' }), qemuExitedAfter: Math.round(seconds) };
  });

  bootTest('starts the worker embedded in HookOS with no registry reachable', async () => {
    // The fixture: what hook-embedded carries when images.txt names the stand-in, built by the
    // same code (libs/containers) from the host's engine, appended to the flavor's initramfs.
    const context = join(work, 'embedded');
    await mkdir(context);
    writeFileSync(join(context, 'images.txt'), `${IMAGE}\n`);
    await prepareEmbeddedContext(context, 'amd64', process.env);
    const initrd = join(work, 'initramfs-embedded');
    await appendToInitramfs(flavorBootFiles(WORKSPACE, FLAVOR).initrd, initrd, [
      { path: 'etc/embedded-images.tar', source: join(context, EMBEDDED_STORAGE_TAR) },
      { path: 'etc/embedded-images.txt', source: join(context, 'images.txt') },
      { path: 'etc/init.d/001-images-mount.sh', source: join(WORKSPACE, 'images/hook-embedded/images-mount.sh'), mode: 0o755 },
    ]);
    // QEMU's user network in a namespace with only loopback: no registry anywhere.
    const netns = await createNetns();
    netnsDispose = netns.dispose;
    const started = Date.now();
    session = await bootHookOs({ workspaceRoot: WORKSPACE, flavorId: FLAVOR, name: 'worker-embedded', initrd, cmdline: cmdlineOf(FULL_CMDLINE), network: { kind: 'user', netns: netns.name } });
    await session.waitFor(DOCKERD_READY, BOOT_TIMEOUT_MS);
    const ready = await session.waitFor('STANDIN ready', BOOT_TIMEOUT_MS);
    await session.waitFor(/STANDIN child (started|failed.*)/, 120_000);
    await session.waitForExit(120_000);
    expectCleanUpTo(session, ready.index);
    // 001-images-mount.sh worked (a failing init.d script prints "hook: init.d NAME: exited ...").
    expect(session.output).not.toContain('hook: init.d 001-images-mount.sh');
    expect(standInLines(session)).toContain(`env DOCKER_REGISTRY=${AUTH_REGISTRY}`);
    expect(standInLines(session)).toContain('child started');
    timings.embedded = { ...timingOf(session, { servicesStarted: ALL_SERVICES_STARTED, dockerdReady: DOCKERD_READY, workerRunning: 'STANDIN env' }), qemuExitedAfter: Math.round((Date.now() - started) / 1000) };
  });

  bootTest('starts the worker within 70 s of a registry that comes up 100 s late, again when it exits with status 1 after it ran (the log says why) and after dockerd is killed; poweroff stops the worker first, within 20 s', async () => {
    network = await startWorkerNetwork({ registryStorage, auth: AUTH, registriesLater: true });
    session = await bootHookOs({
      workspaceRoot: WORKSPACE,
      flavorId: FLAVOR,
      name: 'worker-faults',
      cmdline: cmdlineOf({ ...FULL_CMDLINE, tink_worker_image: CRASHING_IMAGE }),
      network: { kind: 'tap', netns: network.netns.name, tap: network.tap },
    });
    // The registry is down at power-on; it comes up 100 s later, and not before bootkit has
    // failed to pull for 30 s (a loaded machine may take longer than usual to start dockerd).
    await session.waitFor(DOCKERD_READY, BOOT_TIMEOUT_MS);
    const dockerdAt = Date.now();
    await new Promise((r) => setTimeout(r, Math.max(session!.startedAt + 100_000, dockerdAt + 30_000) - Date.now()));
    const downFor = Math.round((Date.now() - session.startedAt) / 1000);
    await network.startRegistries();
    const registryUp = session.mark();
    const registryUpSeconds = (Date.now() - session.startedAt) / 1000;
    const first = await session.waitFor('STANDIN ready', 120_000, registryUp);
    timings.lateRegistry = { registryDownSeconds: downFor, workerReadyAfterRegistrySeconds: Math.round(session.secondsAt(first.index)! - registryUpSeconds) };
    // Within one backoff interval: bootkit's waits grow to 60 s (+-50 %) and no further.
    expect(session.secondsAt(first.index)! - registryUpSeconds).toBeLessThan(70);
    const exited = await session.waitFor('STANDIN exiting 1', 120_000, first.index);
    // bootkit's round: 5 s, the image is there, create, start, 3 s check.
    const second = await session.waitFor('STANDIN ready', 120_000, exited.index);
    expect(session.secondsAt(second.index)! - session.secondsAt(exited.index)!).toBeLessThan(60);
    await loginOnConsole(session);
    // bootkit logs "running" after its 3 s check of the new container.
    let log = '';
    for (const until = Date.now() + 60_000; Date.now() < until && (log.match(/"msg":"the tink-worker container is running"/g) ?? []).length < 2; ) {
      log = await guestCommand(session, 'cat /var/log/hook-bootkit.log');
      await new Promise((r) => setTimeout(r, 2000));
    }
    expect(log).toMatch(/"msg":"pulling the worker image failed; retrying","image":"[^"]+-crashes-once:e2e","error":"[^\n]*connection refused/);
    expect(log).toMatch(/"level":"warn","service":"bootkit","msg":"the worker stopped; starting it again in 5 s","reason":"the tink-worker container exited with status 1; its last output: [^"]*STANDIN exiting 1"/);
    expect((log.match(/"msg":"the tink-worker container is running"/g) ?? []).length).toBe(2);
    const workerRuns = async () => (await session!.shell(`${HOST} runc --root /run/runc exec hook-docker docker inspect --format '{{.State.Running}}' tink-worker`, 60_000)).output.trim() === 'true';
    expect(await workerRuns()).toBe(true);
    expectCleanUpTo(session, session.output.length);

    // dockerd killed: hook-docker starts it again, and the worker runs again.
    const killed = session.mark();
    await guestCommand(session, 'kill -9 $(pidof dockerd)');
    await session.waitFor(DOCKERD_READY, 120_000, killed);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !(await workerRuns())) await new Promise((r) => setTimeout(r, 3000));
    expect(await workerRuns()).toBe(true);
    expect(await guestCommand(session, 'cat /var/log/hook-bootkit.log')).toContain('"msg":"lost the Docker engine while watching the worker; waiting for it to answer again"');

    // poweroff: the worker stops first (dockerd stops its containers), then the services, within 20 s.
    const poweroff = session.mark();
    session.type('poweroff\n');
    expect(await session.waitForExit(20_000)).toBeLessThan(20);
    const shutdown = session.output.slice(poweroff);
    expect(shutdown).toContain('STANDIN stopping');
    expect(shutdown.indexOf('STANDIN stopping')).toBeLessThan(shutdown.indexOf('hook: services stopped'));
    expect(shutdown).not.toContain('killing it');
  });

  bootTest('without an image bootkit says why and retries while every service stays up; an image on another registry is pulled without credentials; an RTC in 2000 with no NTP answer is said on the console and named when a TLS pull fails; a pull that fills Docker\'s storage says so and ends', async () => {
    network = await startWorkerNetwork({ registryStorage, auth: AUTH, tls: { certificate: readFileSync(join(work, 'tls.crt'), 'utf8'), key: readFileSync(join(work, 'tls.key'), 'utf8') } });
    const { tink_worker_image: _image, docker_registry: _registry, ...rest } = FULL_CMDLINE;
    session = await bootHookOs({
      workspaceRoot: WORKSPACE,
      flavorId: FLAVOR,
      name: 'worker-negative',
      cmdline: cmdlineOf(rest),
      network: { kind: 'tap', netns: network.netns.name, tap: network.tap },
      // A machine whose RTC battery is gone; the test namespace has no NTP server.
      extraQemuArgs: ['-rtc', 'base=2000-01-01T00:00:00'],
    });
    const allStarted = await session.waitFor(ALL_SERVICES_STARTED, BOOT_TIMEOUT_MS);
    await session.waitFor(DOCKERD_READY, BOOT_TIMEOUT_MS);
    await loginOnConsole(session);
    // Retries every 5 s: wait for at least three rounds.
    const deadline = Date.now() + 60_000;
    let log = '';
    while (Date.now() < deadline && (log.match(/no worker image/g) ?? []).length < 3) {
      log = await guestCommand(session, 'cat /var/log/hook-bootkit.log');
      await new Promise((r) => setTimeout(r, 3000));
    }
    expect((log.match(/"msg":"starting the worker failed; trying again in 5 s".*"error":"no worker image: put tink_worker_image=<image> or docker_registry=<registry> on the kernel command line"/g) ?? []).length).toBeGreaterThanOrEqual(3);
    // Every other service still runs; bootkit too (it has not given up).
    expectCleanUpTo(session, session.output.length);
    const running = await guestCommand(session, `${HOST} sh -c 'runc --root /run/runc list -f json | jq -r ".[] | select(.status == \\"running\\") | .id" | sort | tr "\\n" " "'`);
    expect(running.trim().split(' ')).toEqual(EXPECTED_SERVICES);
    expect(allStarted.index).toBeGreaterThan(0);

    // The same bootkit, once, in the hook-docker container (same image, same engine), with a
    // command line naming an image on OPEN_REGISTRY while the credentials are for AUTH_REGISTRY.
    const once = await bootkitOnce(session, `${OPEN_REGISTRY}/${REPOSITORY}:${TAG}`);
    expect(once).toEqual({ status: 0, log: expect.stringContaining('"msg":"the tink-worker container is running"') });
    await session.waitFor('STANDIN ready', 60_000, allStarted.index);
    const manifestRequests = network.openRegistryRequests.filter((r) => r.url.includes(`/v2/${REPOSITORY}/manifests/`));
    expect(manifestRequests.length).toBeGreaterThan(0);
    expect(network.openRegistryRequests.filter((r) => r.authorization !== null)).toEqual([]);

    // The clock: one console line (and the init's log) says it is wrong; a pull from a TLS
    // registry whose certificate is valid from today fails with a line that names the clock.
    const clockLines = session.output.match(/^hook: clock: .*$/gm) ?? [];
    expect(clockLines).toEqual([expect.stringMatching(/^hook: clock: the time is 2000-01-01 \d\d:\d\d:\d\d UTC, before 2025-01-01, and no NTP server answered: TLS pulls will fail/)]);
    expect(await guestCommand(session, 'cat /var/log/init.log')).toContain('clock: the time is 2000-01-01');
    // The ntpd service keeps trying to set it (OpenNTPD alone would only slew it, for ever).
    expect(await guestCommand(session, 'cat /var/log/ntpd.log')).toMatch(/^ntp: the clock says 2000-01-01 [\d:]+ UTC, before 2025-01-01: trying to set it \(every 60 s until an NTP server answers\)$/m);
    const tls = await bootkitOnce(session, `${TLS_REGISTRY}/${REPOSITORY}:${TAG}`);
    expect(tls.status).toBe(1);
    // (In a retry line or in the round's failure, whichever came: one attempt may take over 3 s.)
    expect(tls.log).toMatch(/"error":"(pulling \S+ failed for \d+ s, giving up this round: )?the registry's TLS certificate is not valid at this machine's clock, 2000-01-01 [\d:]+ UTC: is the clock right \(NTP, the RTC\)\?: [^\n]*certificate has expired or is not yet valid/);

    // Docker's storage (a tmpfs, half the RAM) filled to 40 MB from full: a 100 MB pull fails
    // with a line that says so, bootkit retries until it gives up the round (after 30 s here),
    // and the engine still answers.
    const free = Number((await guestCommand(session, `${HOST} df -m /run`)).trim().split('\n').pop()!.trim().split(/\s+/)[3]);
    expect(free).toBeGreaterThan(BIG_LAYER_MB);
    await guestCommand(session, `${HOST} dd if=/dev/zero of=/run/hook-test-fill bs=1M count=${free - 40}`, 120_000);
    const full = await bootkitOnce(session, BIG_IMAGE.replace(AUTH_REGISTRY, OPEN_REGISTRY), 30_000);
    await guestCommand(session, `${HOST} rm /run/hook-test-fill`);
    expect(full.status).toBe(1);
    expect(full.log).toMatch(/"msg":"pulling the worker image failed; retrying","image":"[^"]+big:e2e","error":"Docker's storage \(\/var\/lib\/docker\) is full: \d+ MB free of \d+ MB; the image does not fit in this machine's memory: [^\n]*no space left on device/);
    expect(full.log).toMatch(/giving up this round: Docker's storage \(\/var\/lib\/docker\) is full/);
    expect(await guestCommand(session, `${HOST} runc --root /run/runc exec hook-docker docker version --format '{{.Server.Version}}'`, 60_000)).toMatch(/\d+\.\d+/);
    expectCleanUpTo(session, session.output.length);
  });
});
