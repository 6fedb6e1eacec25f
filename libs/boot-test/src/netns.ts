/**
 * Network namespaces for booted guests, so nothing a guest sends leaves this machine: QEMU runs
 * inside a namespace that has only what the test put there (loopback, a tap device, a DHCP
 * server on a VLAN). Every namespace is removed by its dispose(), whatever ran inside.
 */
import { randomBytes } from 'node:crypto';
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

export interface BridgedTaps {
  netns: TestNetns;
  /** Tap devices on one bridge in the namespace: frames pass between them as sent, VLAN tags included. */
  taps: string[];
}

/**
 * Tap devices joined by a bridge in a fresh namespace, for guests that talk to each other and
 * nothing else (this host's kernel has no 802.1Q, so a VLAN's DHCP server runs in a guest).
 */
export async function createBridgedTaps(count: number): Promise<BridgedTaps> {
  const netns = await createNetns('hookbr');
  try {
    await netns.exec('ip', ['link', 'add', 'hookbr0', 'type', 'bridge']);
    await netns.exec('ip', ['link', 'set', 'hookbr0', 'up']);
    const taps: string[] = [];
    for (let i = 0; i < count; i++) {
      const tap = `hooktap${i}`;
      await netns.exec('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      await netns.exec('ip', ['link', 'set', tap, 'master', 'hookbr0']);
      await netns.exec('ip', ['link', 'set', tap, 'up']);
      taps.push(tap);
    }
    return { netns, taps };
  } catch (error) {
    await netns.dispose();
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
