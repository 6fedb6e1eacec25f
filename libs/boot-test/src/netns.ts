/**
 * Network namespaces for booted guests, so nothing a guest sends leaves this machine: QEMU runs
 * inside a namespace that has only what the test put there (loopback, a tap device, a DHCP
 * server on a VLAN). Every namespace is removed by its dispose(), whatever ran inside.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type RunResult } from '@hook/process';

export interface TestNetns {
  name: string;
  /** Runs a command inside the namespace. */
  exec(command: string, args: string[]): Promise<RunResult>;
  dispose(): Promise<void>;
}

/** A namespace with only loopback: QEMU's user network inside it reaches nothing outside. */
export async function createNetns(prefix = 'hooktest'): Promise<TestNetns> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await run('ip', ['netns', 'add', name]);
  const exec = (command: string, args: string[]) => run('ip', ['netns', 'exec', name, command, ...args]);
  try {
    await exec('ip', ['link', 'set', 'lo', 'up']);
  } catch (error) {
    await run('ip', ['netns', 'delete', name], { allowFailure: true });
    throw error;
  }
  return {
    name,
    exec,
    dispose: async () => {
      // Anything still running inside (QEMU, dnsmasq) goes with it.
      const pids = (await run('ip', ['netns', 'pids', name], { allowFailure: true })).stdout.split(/\s+/).filter(Boolean);
      for (const pid of pids) signal(Number(pid));
      await run('ip', ['netns', 'delete', name], { allowFailure: true });
    },
  };
}

export interface VlanDhcp {
  netns: TestNetns;
  /** The tap device QEMU attaches to (-netdev tap,ifname=...). */
  tap: string;
  vlanId: number;
  /** The server's address on the VLAN; leases come from the same /24. */
  serverAddress: string;
  /** dnsmasq's log so far (leases it handed out). */
  log(): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * A tap device in a fresh namespace with a VLAN interface on it and Debian's dnsmasq serving
 * DHCP on that VLAN only: a guest gets an address only if it tags its frames with vlanId.
 */
export async function startVlanDhcp(vlanId: number): Promise<VlanDhcp> {
  const netns = await createNetns('hookvlan');
  const work = await mkdtemp(join(tmpdir(), 'hook-vlan-dhcp-'));
  const tap = 'hooktap0';
  const vlan = `${tap}.${vlanId}`;
  const serverAddress = '192.168.77.1';
  let dnsmasq: Promise<RunResult> | undefined;
  const logFile = join(work, 'dnsmasq.log');
  const dispose = async () => {
    await netns.dispose();
    await dnsmasq?.catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  };
  try {
    await netns.exec('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    await netns.exec('ip', ['link', 'set', tap, 'up']);
    await netns.exec('ip', ['link', 'add', 'link', tap, 'name', vlan, 'type', 'vlan', 'id', String(vlanId)]);
    await netns.exec('ip', ['addr', 'add', `${serverAddress}/24`, 'dev', vlan]);
    await netns.exec('ip', ['link', 'set', vlan, 'up']);
    dnsmasq = run(
      'ip',
      ['netns', 'exec', netns.name, 'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', `--interface=${vlan}`, '--bind-interfaces',
        '--port=0', '--dhcp-range=192.168.77.50,192.168.77.99,255.255.255.0,1h', `--dhcp-option=option:router,${serverAddress}`,
        `--dhcp-option=option:dns-server,${serverAddress}`, `--dhcp-leasefile=${join(work, 'leases')}`, `--log-facility=${logFile}`, '--log-dhcp'],
      { allowFailure: true, timeoutMs: 20 * 60 * 1000 },
    );
    await sleep(300);
    return {
      netns,
      tap,
      vlanId,
      serverAddress,
      log: () => readFile(logFile, 'utf8').catch(() => ''),
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
