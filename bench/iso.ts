/**
 * Benchmark: EFI ISO build, Smee-style patching and QEMU boot times. Not a test: it prints figures.
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/iso.ts [--runs N] [--initrd-mb M]
 *
 * Inputs: a Debian kernel (the test fixture, cached in ${HOOK_TEST_CACHE:-/tmp/hook-test-cache})
 * and an incompressible initrd of M MiB (default 180, about a published HookOS initramfs) for the
 * build/patch figures; the tiny busybox initramfs for the boot figures.
 * Debian packages: grub-efi-amd64-bin, grub-common, mtools, xorriso, qemu-system-x86, ovmf,
 * busybox-static.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { HOOK_ISO_CMDLINE_PLACEHOLDER, buildEfiIso, findPlaceholder, patchCmdline } from '@hook/iso';
import { bootAndWait } from '@hook/qemu';
import { debianTestKernel, writeTinyInitramfs } from '@hook/qemu/testing';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = process.hrtime.bigint();
  const value = await work();
  return [Number(process.hrtime.bigint() - started) / 1e9, value];
}

async function writeRandomFile(path: string, mib: number): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < mib; i++) {
    if (!out.write(randomBytes(1024 * 1024))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function main(): Promise<void> {
  const runs = option('runs', 3);
  const initrdMb = option('initrd-mb', 180);
  const work = await mkdtemp(join(tmpdir(), 'hook-iso-bench-'));
  try {
    const kernelPath = await debianTestKernel();
    const bigInitrd = join(work, 'initramfs-big');
    await writeRandomFile(bigInitrd, initrdMb);
    const inputBytes = (await stat(kernelPath)).size + (await stat(bigInitrd)).size;

    const buildTimes: number[] = [];
    const findTimes: number[] = [];
    const patchTimes: number[] = [];
    let isoBytes = 0;
    for (let i = 0; i < runs; i++) {
      const iso = join(work, `big-${i}.iso`);
      const [buildSeconds, built] = await timed(() =>
        buildEfiIso({ arch: 'x86_64', kernelPath, initrdPath: bigInitrd, cmdline: HOOK_ISO_CMDLINE_PLACEHOLDER, sourceDateEpoch: 1700000000, output: iso }),
      );
      isoBytes = built.bytes;
      buildTimes.push(buildSeconds);
      findTimes.push((await timed(() => findPlaceholder(iso)))[0]);
      patchTimes.push((await timed(() => patchCmdline(iso, HOOK_ISO_CMDLINE_PLACEHOLDER, 'console=ttyS0 worker_id=52:54:00:00:00:01')))[0]);
      await rm(iso);
    }
    const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
    console.log(`ISO build (kernel + ${initrdMb} MiB initrd), median of ${runs}: ${median(buildTimes).toFixed(2)} s; ` +
      `ISO ${mib(isoBytes)} MiB for ${mib(inputBytes)} MiB of kernel+initrd (+${mib(isoBytes - inputBytes)} MiB)`);
    console.log(`findPlaceholder over the whole ISO: ${median(findTimes).toFixed(3)} s; patchCmdline (find + one write): ${median(patchTimes).toFixed(3)} s`);

    // Boot times (TCG): direct kernel boot against the same kernel and initramfs through OVMF + GRUB.
    const tiny = join(work, 'tiny.cpio');
    await writeTinyInitramfs(tiny, { marker: 'HOOK-BENCH-INIT' });
    const tinyIso = join(work, 'tiny.iso');
    await buildEfiIso({ arch: 'x86_64', kernelPath, initrdPath: tiny, cmdline: 'console=ttyS0', sourceDateEpoch: 1700000000, output: tinyIso });
    const boots: Record<string, number[]> = { 'direct kernel (no firmware)': [], 'direct kernel + OVMF': [], 'ISO (OVMF + GRUB)': [] };
    for (let i = 0; i < runs; i++) {
      const common = { arch: 'x86_64' as const, accel: 'tcg' as const, marker: 'HOOK-BENCH-INIT', timeoutMs: 180_000 };
      boots['direct kernel (no firmware)'].push((await bootAndWait({ ...common, kernel: kernelPath, initrd: tiny, append: 'console=ttyS0' })).seconds);
      boots['direct kernel + OVMF'].push((await bootAndWait({ ...common, uefi: true, kernel: kernelPath, initrd: tiny, append: 'console=ttyS0' })).seconds);
      boots['ISO (OVMF + GRUB)'].push((await bootAndWait({ ...common, iso: tinyIso })).seconds);
    }
    for (const [name, seconds] of Object.entries(boots)) {
      console.log(`boot to /init, TCG, ${name}: median ${median(seconds).toFixed(1)} s (${seconds.map((s) => s.toFixed(1)).join(', ')})`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
