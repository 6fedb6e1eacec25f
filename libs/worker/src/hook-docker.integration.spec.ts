/**
 * images/hook-docker/hook-docker.sh, run with busybox sh on this host: daemon.json from the
 * command line (cheap, `write-config`), then the service with a dockerd of its own: the unix
 * socket only, the syslog driver, the proxies, a restart after dockerd is killed, and the
 * reboot command when /worker/reboot appears. Needs root, dockerd (docker.io) and busybox-static.
 */
import { mkdtemp, readFile, readdir, readlink, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOOK_DOCKER_SCRIPT, type HookDocker, type SyslogListener, buildStandInWorker, busyboxPath, runScript, startHookDocker, startSyslogListener } from './index';

describe('hook-docker write-config: daemon.json from the kernel command line', () => {
  let dir: string;
  let busybox: Awaited<ReturnType<typeof busyboxPath>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hook-docker-config-'));
    busybox = await busyboxPath();
  }, 30_000);
  afterAll(async () => {
    await busybox?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  async function writeConfig(cmdline: string) {
    await writeFile(join(dir, 'cmdline'), cmdline);
    const configPath = join(dir, 'etc/docker/daemon.json');
    const result = await runScript(HOOK_DOCKER_SCRIPT, ['write-config'], {
      ...process.env,
      PATH: busybox.path,
      HOOK_CMDLINE: join(dir, 'cmdline'),
      HOOK_DOCKER_CONFIG: configPath,
    });
    expect(result.exitCode).toBe(0);
    return { config: JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>, mode: (await stat(configPath)).mode & 0o777 };
  }

  const syslog = (address: string) => ({ debug: true, 'userland-proxy': false, 'log-driver': 'syslog', 'log-opts': { 'syslog-address': address } });
  it.each([
    ['syslog_host and insecure_registries', 'console=ttyS0 syslog_host=10.0.2.2 insecure_registries=10.0.2.2:5000,reg.example\n', { ...syslog('udp://10.0.2.2:514'), 'insecure-registries': ['10.0.2.2:5000', 'reg.example'] }],
    ['no syslog_host: the default log driver (upstream wrote udp://:514)', 'console=ttyS0', { debug: true, 'userland-proxy': false }],
    ['an empty syslog_host is no syslog_host', 'syslog_host= worker_id=1', { debug: true, 'userland-proxy': false }],
    ['a bare syslog_host is no syslog_host', 'syslog_host=10.0.2.2 syslog_host', { debug: true, 'userland-proxy': false }],
    ['a host name', 'syslog_host=tinkerbell.example', syslog('udp://tinkerbell.example:514')],
    ['a host with a port keeps its port', 'syslog_host=10.0.2.2:1514', syslog('udp://10.0.2.2:1514')],
    ['a bare IPv6 address gets brackets', 'syslog_host=fd00::1', syslog('udp://[fd00::1]:514')],
    ['a bracketed IPv6 address with a port', 'syslog_host=[fd00::1]:1514', syslog('udp://[fd00::1]:1514')],
    ['the last syslog_host wins', 'syslog_host=10.0.0.1 syslog_host=10.0.0.2', syslog('udp://10.0.0.2:514')],
    ['empty items of insecure_registries are skipped', 'insecure_registries=,a:5000,,b:5000,', { debug: true, 'userland-proxy': false, 'insecure-registries': ['a:5000', 'b:5000'] }],
    ['an empty insecure_registries writes no list', 'insecure_registries=', { debug: true, 'userland-proxy': false }],
    ['quotes and backslashes stay valid JSON', 'insecure_registries=a"b,c\\d', { debug: true, 'userland-proxy': false, 'insecure-registries': ['a"b', 'c\\d'] }],
  ])('%s', async (_name, cmdline, expected) => {
    const { config, mode } = await writeConfig(cmdline);
    expect(config).toEqual(expected);
    expect(mode).toBe(0o600);
  });
});

describe('hook-docker: the service, with its own dockerd (integration)', () => {
  let hookDocker: HookDocker | undefined;
  let syslogListener: SyslogListener | undefined;
  const image = 'hook-test/standin-syslog:1';

  beforeAll(async () => {
    syslogListener = await startSyslogListener();
    hookDocker = await startHookDocker({
      cmdline: `console=ttyS0 syslog_host=127.0.0.1:${syslogListener.port} insecure_registries=127.0.0.1:5999,reg.example HTTP_PROXY=http://127.0.0.1:3128 HTTPS_PROXY=http://127.0.0.1:3129 NO_PROXY=127.0.0.1,localhost\n`,
    });
  }, 120_000);

  afterAll(async () => {
    await hookDocker?.stop();
    await syslogListener?.stop();
  }, 60_000);

  it('runs dockerd with the settings of the command line', async () => {
    const info = JSON.parse((await hookDocker!.docker(['info', '--format', '{{json .}}'])).stdout) as Record<string, unknown>;
    expect(info.DockerRootDir).toBe(join(hookDocker!.dir, 'data'));
    expect(info.LoggingDriver).toBe('syslog');
    expect(info.Debug).toBe(true);
    expect(info.HttpProxy).toBe('http://127.0.0.1:3128');
    expect(info.HttpsProxy).toBe('http://127.0.0.1:3129');
    expect(info.NoProxy).toBe('127.0.0.1,localhost');
    const indexes = (info.RegistryConfig as { IndexConfigs: Record<string, { Secure: boolean }> }).IndexConfigs;
    expect(indexes['reg.example']?.Secure).toBe(false);
    expect(indexes['127.0.0.1:5999']?.Secure).toBe(false);
  });

  it('says on the console when dockerd answers (the boot tests time it by that line)', async () => {
    const deadline = Date.now() + 10_000;
    let text = '';
    while (Date.now() < deadline && !(text = await readFile(hookDocker!.consoleFile, 'utf8').catch(() => ''))) await new Promise((r) => setTimeout(r, 100));
    expect(text).toMatch(new RegExp(`^hook: docker: dockerd answers on ${hookDocker!.socket} \\(Docker \\d+\\.[^)]+\\)\\n$`));
  });

  it('listens on its unix socket and on no TCP port', async () => {
    expect((await stat(hookDocker!.socket)).isSocket()).toBe(true);
    const pid = (await hookDocker!.dockerdPid())!;
    const socketInodes = new Set<string>();
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) socketInodes.add(inode);
    }
    expect(socketInodes.size).toBeGreaterThan(0);
    const listening: string[] = [];
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      const rows = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1);
      for (const row of rows) {
        const cols = row.trim().split(/\s+/);
        // st 0A = LISTEN; column 9 is the inode
        if (cols[3] === '0A' && socketInodes.has(cols[9])) listening.push(`${table} ${cols[1]}`);
      }
    }
    expect(listening).toEqual([]);
  });

  it('sends container output to syslog_host over UDP', async () => {
    await buildStandInWorker({ ref: image, dockerHost: hookDocker!.dockerHost });
    await hookDocker!.docker(['run', '--rm', '--network', 'none', '--entrypoint', '/bin/echo', image, 'hello-from-a-container']);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !syslogListener!.messages.some((m) => m.includes('hello-from-a-container'))) await new Promise((r) => setTimeout(r, 100));
    expect(syslogListener!.messages.find((m) => m.includes('hello-from-a-container'))).toMatch(/^<\d+>/);
  }, 60_000);

  it('restarts dockerd when it is killed, and says so', async () => {
    const before = (await hookDocker!.dockerdPid())!;
    process.kill(before, 'SIGKILL');
    const after = await hookDocker!.waitForEngine(60_000, before);
    expect(after).not.toBe(before);
    expect(hookDocker!.service.lines()).toContainEqual(expect.objectContaining({ level: 'error', msg: 'dockerd exited; restarting it', exit_code: '137' }));
  }, 90_000);

  it('reboots when a regular file /worker/reboot appears, not for a directory', async () => {
    await mkdir(join(hookDocker!.workerDir, 'reboot'));
    await new Promise((r) => setTimeout(r, 2500));
    await expect(stat(hookDocker!.rebootMarker)).rejects.toThrow();
    await rm(join(hookDocker!.workerDir, 'reboot'), { recursive: true });
    await writeFile(join(hookDocker!.workerDir, 'reboot'), '');
    await hookDocker!.service.waitFor((l) => l.msg === `found ${hookDocker!.workerDir}/reboot: rebooting the machine`, 5000, 'the reboot line');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !(await stat(hookDocker!.rebootMarker).catch(() => undefined))) await new Promise((r) => setTimeout(r, 100));
    expect((await stat(hookDocker!.rebootMarker)).isFile()).toBe(true);
  }, 30_000);

  it('stops dockerd and itself on SIGTERM', async () => {
    const pid = (await hookDocker!.dockerdPid())!;
    expect(await hookDocker!.service.stop()).toBe(0);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(hookDocker!.service.lines().at(-1)).toMatchObject({ msg: 'stopped' });
  }, 60_000);
});

describe('a test dockerd never touches the host engine\'s docker0 (integration)', () => {
  // A dockerd with --bridge=none deletes docker0 at start; every other docker build on the machine
  // (CI runs test projects in parallel) would then fail with "could not find bridge docker0".
  const linkExists = async (name: string) => (await stat(`/sys/class/net/${name}`).catch(() => undefined)) !== undefined;

  it('uses a bridge of its own, keeps docker0, and removes its bridge when it stops', async () => {
    const docker0Before = await linkExists('docker0');
    const hookDocker = await startHookDocker({ cmdline: 'console=ttyS0' });
    try {
      expect(hookDocker.bridge).not.toBe('docker0');
      expect(await linkExists(hookDocker.bridge)).toBe(true);
      const bridgeOption = (await hookDocker.docker(['network', 'inspect', 'bridge', '--format', '{{index .Options "com.docker.network.bridge.name"}}'])).stdout.trim();
      expect(bridgeOption).toBe(hookDocker.bridge);
      expect(await linkExists('docker0')).toBe(docker0Before);
    } finally {
      await hookDocker.stop();
    }
    expect(await linkExists('docker0')).toBe(docker0Before);
    expect(await linkExists(hookDocker.bridge)).toBe(false);
  }, 120_000);
});
