/**
 * How often hook-debian-amd64 oopses under QEMU TCG with the machine `hook run` uses (upstream's:
 * UEFI, 2 vCPUs, 2 GB, a 10 G scratch disk, user networking; several TCG vCPUs on one thread),
 * against a named comparison: QEMU's default multi-threaded TCG (`mttcg`, where `Oops: int3` in
 * the kernel's text patching was seen) or one vCPU (`1cpu`). Each boot runs to all services
 * (plus 15 s, the Oopses came 22-30 s in), counting the lines the boot tests count as a crash
 * (`Oops`, `BUG:`, `Call Trace`, `Kernel panic`, `segfault`, `general protection`).
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/boot-oops.ts [boots=20] [comparison=mttcg|1cpu|none] [comparison boots=boots]
 *
 * Prints each boot, then boots, Oopses and the median time to all services per machine, and
 * the ratio of those medians; writes dist/bench/boot-oops.json. The guest runs in a network
 * namespace of its own: nothing it sends leaves this machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_SERVICES_STARTED, CRASH_PATTERN, createNetns, flavorBootFiles } from '@hook/boot-test';
import { GuestSession, GuestTimeout, upstreamRunOptions, type SessionOptions } from '@hook/qemu';

const WORKSPACE = join(__dirname, '..');
const FLAVOR = 'hook-debian-amd64';
const boots = Number(process.argv[2] ?? 20);
const comparison = (process.argv[3] ?? 'mttcg') as 'mttcg' | '1cpu' | 'none';
const comparisonBoots = Number(process.argv[4] ?? boots);
/** What the boot tests count as a crash (libs/boot-test). */
const TROUBLE = CRASH_PATTERN;
const AFTER_SERVICES_MS = 15000;

interface Sample {
  seconds?: number;
  oops: boolean;
  line?: string;
}

async function bootOnce(name: string, change: Partial<SessionOptions>): Promise<Sample> {
  const files = flavorBootFiles(WORKSPACE, FLAVOR);
  const machine = upstreamRunOptions({ arch: files.arch, kernel: files.kernel, initrd: files.initrd, netUser: true }, {});
  const netns = await createNetns('hookoops');
  const logDir = join(WORKSPACE, 'dist', 'bench');
  mkdirSync(logDir, { recursive: true });
  const session = await GuestSession.start({ ...machine, ...change, wrapper: ['ip', 'netns', 'exec', netns.name], logFile: join(logDir, `${name}.serial.log`), extraArgs: ['-no-reboot'], maxRunMs: 10 * 60 * 1000 });
  try {
    let seconds: number | undefined;
    try {
      const match = await session.waitFor(new RegExp(`${ALL_SERVICES_STARTED}|${TROUBLE.source}`), 8 * 60 * 1000);
      if (match[0].startsWith('hook:')) seconds = session.secondsAt(match.index);
      await session.waitFor(TROUBLE, AFTER_SERVICES_MS).catch((error) => {
        if (!(error instanceof GuestTimeout)) throw error;
      });
    } catch (error) {
      if (!(error instanceof GuestTimeout)) throw error;
    }
    const trouble = TROUBLE.exec(session.output);
    const line = trouble ? session.output.slice(trouble.index).split('\n')[0] : undefined;
    return { seconds, oops: trouble !== null, line };
  } finally {
    await session.close();
    await netns.dispose();
  }
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function series(label: string, count: number, change: Partial<SessionOptions>) {
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const sample = await bootOnce(`boot-oops-${label}-${i}`, change);
    samples.push(sample);
    console.error(`${label} ${i + 1}/${count}: ${sample.oops ? `OOPS (${sample.line})` : 'clean'}, all services at ${sample.seconds?.toFixed(1) ?? '-'} s`);
  }
  const times = samples.map((s) => s.seconds).filter((s): s is number => s !== undefined);
  const medianSeconds = median(times);
  return { machine: label, boots: count, oopses: samples.filter((s) => s.oops).length, medianAllServicesSeconds: medianSeconds === undefined ? undefined : Number(medianSeconds.toFixed(1)) };
}

async function main(): Promise<void> {
  const hookRun = await series('hook-run-2cpu-thread-single', boots, {});
  const other =
    comparison === 'none' ? undefined : await series(comparison === 'mttcg' ? 'compare-2cpu-multi-thread' : 'compare-1cpu', comparisonBoots, comparison === 'mttcg' ? { tcgThreads: 'multi' } : { cpus: 1 });
  const result = {
    flavor: FLAVOR,
    hookRun,
    comparison: other,
    bootTimeRatio: other?.medianAllServicesSeconds && hookRun.medianAllServicesSeconds ? Number((hookRun.medianAllServicesSeconds / other.medianAllServicesSeconds).toFixed(2)) : undefined,
  };
  writeFileSync(join(WORKSPACE, 'dist', 'bench', 'boot-oops.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
