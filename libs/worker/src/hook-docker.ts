/**
 * images/hook-docker/hook-docker.sh run on a build host with a Docker engine of its own: its own
 * socket, data-root, exec-root and pidfile under a temp directory, a bridge of its own and no
 * iptables rules, so it lives next to the host's engine without touching it. Everything it
 * starts, stop() stops (the bridge too); mounts a killed dockerd leaves behind are unmounted.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunOptions, type RunResult, processRuns, run } from '@hook/process';
import { HOOK_DOCKER_SCRIPT, type RunningScript, busyboxPath, startScript } from './scripts';

export interface HookDockerOptions {
  /** The kernel command line hook-docker reads. */
  cmdline: string;
  /** Default: touch <dir>/rebooted. */
  rebootCommand?: string;
  /** How long to wait for the engine to answer; default 60 s. */
  startTimeoutMs?: number;
  /** dockerd's data-root; default <dir>/data (an existing storage, e.g. embedded images). */
  dataRoot?: string;
}

export interface HookDocker {
  dir: string;
  /** The bridge of this engine's default network (not docker0). */
  bridge: string;
  socket: string;
  /** `unix://<socket>`, for DOCKER_HOST. */
  dockerHost: string;
  pidfile: string;
  configPath: string;
  workerDir: string;
  /** What hook-docker writes to the console (HOOK_CONSOLE) instead of /dev/console. */
  consoleFile: string;
  /** The file the default reboot command creates. */
  rebootMarker: string;
  /** PATH with BusyBox's applets first, as in HookOS. */
  path: string;
  service: RunningScript;
  /** The docker CLI against this engine. */
  docker(args: string[], options?: RunOptions): Promise<RunResult>;
  /** The pid dockerd wrote to its pidfile, if it is alive. */
  dockerdPid(): Promise<number | undefined>;
  /** Waits until the engine answers (another pid than notPid, when given). */
  waitForEngine(timeoutMs: number, notPid?: number): Promise<number>;
  stop(): Promise<void>;
}

export const TEST_DOCKERD_ARGS = '--iptables=false --ip6tables=false';

export interface OwnBridge {
  name: string;
  /** The bridge's address with its prefix, e.g. 10.231.17.1/24. */
  address: string;
  remove(): Promise<void>;
}

/**
 * A bridge for one test dockerd. Never --bridge=none: a dockerd with the bridge disabled deletes
 * the host's docker0 at start (moby's removeDefaultBridgeInterface), and every other build on
 * the machine then fails with "could not find bridge docker0". The /24 is one in 10.231.0.0/16
 * that no interface here uses.
 */
export async function createOwnBridge(): Promise<OwnBridge> {
  const name = `hkt${randomBytes(5).toString('hex')}`;
  const inUse = (await run('ip', ['-4', '-o', 'addr', 'show'])).stdout;
  const free = Array.from({ length: 254 }, (_, i) => i + 1).filter((n) => !inUse.includes(` 10.231.${n}.`));
  if (free.length === 0) throw new Error('no free /24 in 10.231.0.0/16 for a test dockerd bridge');
  const address = `10.231.${free[randomBytes(1)[0] % free.length]}.1/24`;
  await run('ip', ['link', 'add', name, 'type', 'bridge']);
  const remove = async () => {
    await run('ip', ['link', 'delete', name], { allowFailure: true });
  };
  try {
    await run('ip', ['addr', 'add', address, 'dev', name]);
    await run('ip', ['link', 'set', name, 'up']);
  } catch (error) {
    await remove();
    throw error;
  }
  return { name, address, remove };
}

/** Linux capability names by number (capability.h), for the runc wrapper below. */
const CAPABILITY_NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE',
  'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE',
  'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
];

/** The capabilities the kernel has but this process's bounding set lacks (some VMs drop some). */
export async function capabilitiesMissingHere(): Promise<string[]> {
  const status = await readFile('/proc/self/status', 'utf8');
  const bounding = BigInt(`0x${/CapBnd:\s+([0-9a-f]+)/.exec(status)?.[1] ?? '0'}`);
  const last = Number.parseInt((await readFile('/proc/sys/kernel/cap_last_cap', 'utf8').catch(() => '40')).trim(), 10);
  const missing: string[] = [];
  for (let bit = 0; bit <= Math.min(last, CAPABILITY_NAMES.length - 1); bit++) {
    if (((bounding >> BigInt(bit)) & 1n) === 0n) missing.push(`CAP_${CAPABILITY_NAMES[bit]}`);
  }
  return missing;
}

/**
 * A privileged container gets every capability the kernel knows, and runc fails ("unable to
 * apply caps") where the machine's bounding set lacks one, as on some VMs. There the test
 * engine runs containers through this wrapper, which leaves those capabilities out of the
 * bundle's config.json and then runs runc. Everything else (privileged, devices, mounts) is as
 * requested. HookOS itself has the full set.
 */
async function runtimeWorkaround(dir: string): Promise<string> {
  const missing = await capabilitiesMissingHere();
  if (missing.length === 0) return '';
  const runc = (await run('sh', ['-c', 'command -v runc'])).stdout.trim();
  const edits = missing.flatMap((cap) => [`-e 's/"${cap}",//g'`, `-e 's/,"${cap}"//g'`, `-e 's/\\["${cap}"\\]/[]/g'`]).join(' ');
  const wrapper = join(dir, 'runc-without-missing-caps');
  await writeFile(
    wrapper,
    [
      '#!/bin/sh',
      '# Test engine only: drop the capabilities this machine cannot grant, then run runc.',
      'bundle=""; previous=""',
      'for arg in "$@"; do [ "$previous" = --bundle ] || [ "$previous" = -b ] && bundle=$arg; previous=$arg; done',
      `[ -n "$bundle" ] && [ -f "$bundle/config.json" ] && sed -i ${edits} "$bundle/config.json"`,
      `exec ${runc} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return ` --add-runtime hook-test-runc=${wrapper} --default-runtime hook-test-runc`;
}

export async function startHookDocker(options: HookDockerOptions): Promise<HookDocker> {
  const dir = await mkdtemp(join(tmpdir(), 'hook-docker-'));
  const busybox = await busyboxPath();
  const bridge = await createOwnBridge().catch(async (error) => {
    await rm(dir, { recursive: true, force: true });
    await busybox.remove();
    throw error;
  });
  const paths = {
    socket: join(dir, 'docker.sock'),
    pidfile: join(dir, 'docker.pid'),
    configPath: join(dir, 'etc/daemon.json'),
    workerDir: join(dir, 'worker'),
    rebootMarker: join(dir, 'rebooted'),
    consoleFile: join(dir, 'console'),
  };
  const cleanup = async () => {
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
    await busybox.remove();
    await bridge.remove();
  };
  try {
    await mkdir(paths.workerDir);
    await writeFile(join(dir, 'cmdline'), `${options.cmdline}\n`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: busybox.path,
      HOOK_CMDLINE: join(dir, 'cmdline'),
      HOOK_DOCKER_CONFIG: paths.configPath,
      HOOK_DOCKER_SOCKET: paths.socket,
      HOOK_DOCKER_DATA_ROOT: options.dataRoot ?? join(dir, 'data'),
      HOOK_DOCKER_EXEC_ROOT: join(dir, 'exec'),
      HOOK_DOCKER_PIDFILE: paths.pidfile,
      HOOK_WORKER_DIR: paths.workerDir,
      HOOK_CONSOLE: join(dir, 'console'),
      HOOK_REBOOT_COMMAND: options.rebootCommand ?? `touch ${paths.rebootMarker}`,
      HOOK_DOCKERD_ARGS: `--bridge=${bridge.name} ${TEST_DOCKERD_ARGS}${await runtimeWorkaround(dir)}`,
    };
    const service = await startScript(HOOK_DOCKER_SCRIPT, [], env);
    const dockerHost = `unix://${paths.socket}`;
    const docker = (args: string[], runOptions: RunOptions = {}) =>
      run('docker', ['--host', dockerHost, ...args], { timeoutMs: 120_000, ...runOptions, env: { ...process.env, DOCKER_CONFIG: join(dir, 'cli'), ...runOptions.env } });
    const dockerdPid = async () => {
      const pid = Number.parseInt((await readFile(paths.pidfile, 'utf8').catch(() => '')).trim(), 10);
      return Number.isInteger(pid) && pid > 0 && processRuns(pid) ? pid : undefined;
    };
    const waitForEngine = async (timeoutMs: number, notPid?: number) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const pid = await dockerdPid();
        if (pid && pid !== notPid && (await docker(['version', '--format', '{{.Server.Version}}'], { allowFailure: true, timeoutMs: 10_000 })).exitCode === 0) return pid;
        await new Promise((r) => setTimeout(r, 200));
      }
      const tail = service.lines().slice(-10).map((l) => l.raw).join('\n');
      throw new Error(`the Docker engine of hook-docker did not answer within ${timeoutMs} ms; its log ends:\n${tail}`);
    };
    let stopped = false;
    const instance: HookDocker = {
      dir,
      bridge: bridge.name,
      ...paths,
      dockerHost,
      path: busybox.path,
      service,
      docker,
      dockerdPid,
      waitForEngine,
      async stop() {
        if (stopped) return;
        stopped = true;
        const pid = await dockerdPid();
        await service.stop();
        // hook-docker stops dockerd on SIGTERM; make sure, then clean up.
        if (pid && processRuns(pid)) process.kill(pid, 'SIGKILL');
        await cleanup();
      },
    };
    try {
      await waitForEngine(options.startTimeoutMs ?? 60_000);
    } catch (error) {
      await instance.stop();
      throw error;
    }
    return instance;
  } catch (error) {
    await cleanup();
    throw error;
  }
}


/** Unmounts (lazily, deepest first) whatever is still mounted under dir. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((target): target is string => !!target && (target === dir || target.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const target of mounts) await run('umount', ['-l', target], { allowFailure: true });
}
