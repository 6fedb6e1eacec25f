/**
 * Boot time of a built HookOS flavor under QEMU (TCG here): from QEMU's start to the kernel, to
 * /init, to all services up, to an IPv4 address, to dockerd ready and the worker running when
 * the console shows them; median of N boots (default 3), and each step's share, as JSON.
 *
 *   ./hook build hook-debian-amd64
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/boot.ts [flavor] [runs]
 *   ... bench/boot.ts --worker [runs]
 *
 * --worker times the worker end-to-end boot instead (libs/boot-test worker.e2e.spec.ts, run
 * through Jest N times: a stand-in worker pulled with credentials from a registry in the test's
 * namespace): all services up, dockerd ready, worker running, as that test records them.
 *
 * Compared with the target of the boot issue: all services up in under 30 s of TCG (a plain
 * Debian root with docker.io runs a container 27 s after QEMU starts on this kind of machine).
 * The guest runs in a network namespace of its own with QEMU's user network: nothing leaves.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_SERVICES_STARTED, bootHookOs, createNetns } from '@hook/boot-test';
import { run } from '@hook/process';

const WORKSPACE = join(__dirname, '..');
const workerMode = process.argv[2] === '--worker';
const flavorId = workerMode ? 'hook-debian-amd64' : (process.argv[2] ?? 'hook-debian-amd64');
const runs = Number((workerMode ? process.argv[3] : process.argv[3]) ?? 3);
const TARGET_ALL_SERVICES_S = 30;

/** Console lines that mark each step; the first occurrence counts. */
const MILESTONES: Array<[string, RegExp]> = [
  ['kernel', /Linux version /],
  ['initramfs unpacked', /Freeing initrd memory/],
  ['init', /hook: init: moving the root filesystem to tmpfs/],
  ['system mounted', /hook: init: system mounted/],
  ['onboot udev done', /hook: onboot 000-udev: exited/],
  // dhcp-once ends when the lease is configured (dhcpcd --waitip).
  ['ipv4 address (dhcp-once done)', /hook: onboot 001-dhcp-once: exited with status 0/],
  ['clock set (ntp-once done)', /hook: onboot 002-ntp-once: exited/],
  ['all services up', new RegExp(ALL_SERVICES_STARTED)],
  ['dockerd ready', /hook: docker: dockerd answers on/],
  ['worker running', /STANDIN env/],
];

async function bootOnce(index: number): Promise<Record<string, number>> {
  const netns = await createNetns('hookbench');
  const session = await bootHookOs({ workspaceRoot: WORKSPACE, flavorId, name: `bench-boot-${index}`, network: { kind: 'user', netns: netns.name } });
  try {
    await session.waitFor(ALL_SERVICES_STARTED, 10 * 60 * 1000);
    // dockerd answers some 30 s later (no worker image here: --worker times that).
    await session.waitFor(/hook: docker: dockerd answers on/, 120000).catch(() => undefined);
    const times: Record<string, number> = {};
    for (const [name, pattern] of MILESTONES) {
      const match = pattern.exec(session.output);
      const seconds = match ? session.secondsAt(match.index) : undefined;
      if (seconds !== undefined) times[name] = seconds;
    }
    return times;
  } finally {
    await session.close();
    await netns.dispose();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** One run of the worker end-to-end boot; its times as the test wrote them. */
async function workerBootOnce(): Promise<Record<string, number>> {
  await run('npx', ['jest', '-c', 'libs/boot-test/jest.config.js', 'worker.e2e', '-t', 'pulls the worker with credentials'], { cwd: WORKSPACE, timeoutMs: 20 * 60 * 1000 });
  const full = (JSON.parse(readFileSync(join(WORKSPACE, 'dist/boot-test/worker-timing.json'), 'utf8')) as { full: Record<string, number> }).full;
  return { 'all services up': full.servicesStarted, 'dockerd ready': full.dockerdReady, 'worker running': full.workerRunning };
}

async function main(): Promise<void> {
  const samples: Array<Record<string, number>> = [];
  for (let i = 0; i < runs; i++) {
    samples.push(workerMode ? await workerBootOnce() : await bootOnce(i));
    console.error(`boot ${i + 1}/${runs}: ${JSON.stringify(samples[i])}`);
  }
  const medians: Record<string, number> = {};
  for (const [name] of MILESTONES) {
    const values = samples.map((s) => s[name]).filter((v): v is number => v !== undefined);
    if (values.length === samples.length) medians[name] = Number(median(values).toFixed(1));
  }
  // Each step's duration: from the previous milestone that every run reached.
  const steps: Record<string, number> = {};
  let previous = 0;
  for (const [name] of MILESTONES) {
    if (medians[name] === undefined) continue;
    steps[name] = Number((medians[name] - previous).toFixed(1));
    previous = medians[name];
  }
  const slowest = Object.entries(steps).sort((a, b) => b[1] - a[1])[0];
  const result = {
    flavor: flavorId,
    runs,
    accelerator: 'as chosen by HOOK_QEMU_ACCEL (auto: KVM when it works, else TCG)',
    secondsFromQemuStart: medians,
    stepSeconds: steps,
    slowestStep: slowest ? { name: slowest[0], seconds: slowest[1] } : undefined,
    allServicesVsTarget: medians['all services up'] !== undefined ? Number((medians['all services up'] / TARGET_ALL_SERVICES_S).toFixed(2)) : undefined,
  };
  const output = join(WORKSPACE, 'dist', 'bench');
  mkdirSync(output, { recursive: true });
  writeFileSync(join(output, workerMode ? 'boot-worker.json' : 'boot.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
