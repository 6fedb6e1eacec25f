/**
 * HookOS size (issue 12): for the default flavors, the compressed and unpacked size against the
 * budget, the largest contributors, the time to compress the initramfs at the chosen zstd
 * settings on this machine, and (--boot) how long the kernel takes to unpack it under QEMU.
 *
 *   ./hook build hook-debian-amd64
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/size.ts [flavor...] [--levels] [--boot]
 *
 * --no-parts leaves out the largest contributors (each part compressed on its own takes minutes
 * at the release level). --levels compresses the real cpio with several zstd levels and --long windows (size, seconds
 * with 2 threads); --boot boots the flavor's kernel with its initramfs (and with the same cpio
 * at zstd -9, for comparison) until the kernel has unpacked it, and takes the time between the
 * kernel's "Trying to unpack rootfs" and "Freeing initrd memory" lines, and the least RAM with
 * which the kernel still unpacks it (bisection in 32 MiB steps): the decompressor's memory (the
 * frame's window, printed) shows as the difference to the zstd -9 image without --long.
 *
 * A flavor that is not built (hook-default-amd64 needs a 43-minute kernel compile) is estimated
 * from its parts: the built Debian flavor's userland plus its kernel and modules as measured
 * once (/work/shared facts: bzImage 17.3 MB, modules 6.8 MB as a zstd -9 tar).
 * Figures go to dist/bench/size.json.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory, resolveFlavor } from '@hook/inventory';
import { inWorkspace } from '@hook/layout';
import { readFlavorBudget } from '@hook/hookos';
import { DEFAULT_ZSTD_LEVEL, DEFAULT_LONG_WINDOW } from '@hook/initramfs';
import { bootAndWait } from '@hook/qemu';
import { run, shellQuote } from '@hook/process';

const WORKSPACE = join(__dirname, '..');
const args = process.argv.slice(2);
const flavors = args.filter((a) => !a.startsWith('--'));
if (flavors.length === 0) flavors.push('hook-debian-amd64', 'hook-default-amd64');
const withLevels = args.includes('--levels');
const withBoot = args.includes('--boot');
// --no-parts skips the per-part compression (minutes at the release level on 2 cores).
const withParts = !args.includes('--no-parts');

/** hook-default-amd64's kernel, measured once (a full compile takes 43 minutes here). */
const DEFAULT_KERNEL_ESTIMATE = { vmlinuzBytes: 17_300_000, modulesCompressedBytes: 6_800_000, modulesUnpackedBytes: 36 * 1024 * 1024 };

const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const MiB = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
const zstdArgs = (level: number, long: number) => [...(level > 19 ? ['--ultra'] : []), `-${level}`, ...(long ? [`--long=${long}`] : [])];
const label = (level: number, long: number) => `zstd -${level}${long ? ` --long=${long}` : ''}`;

async function sh(script: string): Promise<string> {
  return (await run('bash', ['-c', `set -o pipefail; ${script}`])).stdout.trim();
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return [value, Number(process.hrtime.bigint() - started) / 1e9];
}

async function compressedSize(input: string, level: number, long: number): Promise<number> {
  return Number(await sh(`zstd -T2 -q -c ${zstdArgs(level, long).join(' ')} ${input} | wc -c`));
}

/** Groups of the unpacked tree: each container, the kernel modules, the firmware, the rest. */
function groupsOf(root: string): { name: string; paths: string[] }[] {
  const groups: { name: string; paths: string[] }[] = [];
  for (const kind of ['onboot', 'services']) {
    const dir = join(root, 'containers', kind);
    if (existsSync(dir)) for (const name of readdirSync(dir)) groups.push({ name: `containers/${kind}/${name}`, paths: [`containers/${kind}/${name}`] });
  }
  for (const path of ['usr/lib/modules', 'usr/lib/firmware']) if (existsSync(join(root, path))) groups.push({ name: path, paths: [path] });
  const excluded = groups.flatMap((g) => g.paths);
  groups.push({ name: 'the rest (init, runc, libraries, /etc)', paths: ['.', ...excluded.map((p) => `--exclude=./${p}`)] });
  return groups;
}

async function contributors(root: string, level: number, long: number) {
  const rows = [];
  for (const group of groupsOf(root)) {
    const [paths, excludes] = [group.paths.filter((p) => !p.startsWith('--')), group.paths.filter((p) => p.startsWith('--'))];
    const list = paths.map((p) => (p === '.' ? '.' : `./${p}`)).map(shellQuote).join(' ');
    const tar = `tar -C ${shellQuote(root)} ${excludes.map(shellQuote).join(' ')} -cf - ${list}`;
    const unpacked = Number(await sh(`${tar} | wc -c`));
    const compressed = Number(await sh(`${tar} | zstd -T2 -q -c ${zstdArgs(level, long).join(' ')} | wc -c`));
    rows.push({ name: group.name, unpacked, compressed });
  }
  return rows.sort((a, b) => b.compressed - a.compressed);
}

/** The kernel modules alone (what a flavor with another kernel replaces). */
async function moduleTree(root: string, level: number, long: number) {
  if (!existsSync(join(root, 'usr/lib/modules'))) return undefined;
  const tar = `tar -C ${shellQuote(root)} -cf - ./usr/lib/modules`;
  return { name: 'usr/lib/modules', unpacked: Number(await sh(`${tar} | wc -c`)), compressed: Number(await sh(`${tar} | zstd -T2 -q -c ${zstdArgs(level, long).join(' ')} | wc -c`)) };
}

interface Unpack {
  /** The kernel unpacked the whole initramfs. */
  ok: boolean;
  /** Seconds between "Trying to unpack rootfs" and "Freeing initrd memory". */
  seconds?: number;
}

async function unpack(vmlinuz: string, initrd: string, memoryMb: number): Promise<Unpack> {
  // No init (rdinit points nowhere): the boot ends in a panic right after unpacking; -no-reboot
  // stops QEMU. The panic is the marker, so a failed unpack (its message comes before the
  // "Freeing initrd memory" line) or an out-of-memory panic are both seen.
  const result = await bootAndWait({
    arch: 'x86_64',
    kernel: vmlinuz,
    initrd,
    append: 'console=ttyS0 printk.time=1 panic=-1 rdinit=/nonexistent root=/dev/nonexistent',
    memoryMb,
    cpus: 1,
    marker: /Kernel panic/,
    timeoutMs: 10 * 60 * 1000,
  });
  const at = (pattern: RegExp) => {
    const match = new RegExp(`\\[\\s*(\\d+\\.\\d+)\\][^\\n]*${pattern.source}`).exec(result.serialLog);
    return match ? Number(match[1]) : undefined;
  };
  const start = at(/Trying to unpack rootfs image as initramfs/);
  const end = at(/Freeing initrd memory/);
  const seconds = start !== undefined && end !== undefined ? end - start : undefined;
  const failed = /Initramfs unpacking failed|[Oo]ut of memory|oom-kill|Unable to handle kernel/.test(result.serialLog);
  return { ok: !failed && seconds !== undefined, seconds };
}

/** The least RAM (32 MiB steps between `low` and `high`) with which the kernel unpacks `initrd`: a bisection of about 6 boots. */
async function leastMemory(vmlinuz: string, initrd: string, low: number, high: number): Promise<number | undefined> {
  if (!(await unpack(vmlinuz, initrd, high)).ok) return undefined;
  while (high - low > 32) {
    const middle = Math.round((low + high) / 2 / 32) * 32;
    if ((await unpack(vmlinuz, initrd, middle)).ok) high = middle;
    else low = middle;
  }
  return high;
}

async function main(): Promise<void> {
  const inventory = loadInventory(WORKSPACE);
  const out: Record<string, unknown> = {};
  let debianUserland: { compressed: number; unpacked: number } | undefined;
  for (const flavorId of flavors) {
    const { files } = resolveFlavor(inventory, flavorId);
    const initramfs = inWorkspace(WORKSPACE, files.initramfs);
    const vmlinuz = inWorkspace(WORKSPACE, files.vmlinuz);
    const budget = readFlavorBudget(WORKSPACE, flavorId);
    if (!existsSync(initramfs) || !existsSync(vmlinuz)) {
      if (!debianUserland) {
        console.log(`${flavorId}: not built (npx nx run ${flavorId}:build); no estimate without a built Debian flavor`);
        continue;
      }
      const compressed = debianUserland.compressed + DEFAULT_KERNEL_ESTIMATE.modulesCompressedBytes + DEFAULT_KERNEL_ESTIMATE.vmlinuzBytes;
      const unpacked = debianUserland.unpacked + DEFAULT_KERNEL_ESTIMATE.modulesUnpackedBytes;
      console.log(`\n${flavorId} (estimated from its parts, not built): kernel + initramfs ${MB(compressed)} (budget ${budget?.compressed ? MB(budget.compressed) : 'none'}), unpacked ${MiB(unpacked)}`);
      console.log(`  = the Debian flavor's userland ${MB(debianUserland.compressed)} + modules ${MB(DEFAULT_KERNEL_ESTIMATE.modulesCompressedBytes)} + bzImage ${MB(DEFAULT_KERNEL_ESTIMATE.vmlinuzBytes)}`);
      out[flavorId] = { estimated: true, compressed, unpacked, budget };
      continue;
    }
    const work = await mkdtemp(join(tmpdir(), 'hook-size-'));
    try {
      const cpio = join(work, 'initramfs.cpio');
      await run('zstd', ['-d', '-q', '-f', '--long=31', initramfs, '-o', cpio]);
      const window = (await run('zstd', ['-lv', initramfs])).stdout.match(/Window Size: ([^\n]+)/)?.[1] ?? '?';
      const kernelBytes = statSync(vmlinuz).size;
      const initramfsBytes = statSync(initramfs).size;
      const unpacked = statSync(cpio).size;
      const total = kernelBytes + initramfsBytes;
      console.log(`\n${flavorId}: kernel + initramfs ${MB(total)} (budget ${budget?.compressed ? MB(budget.compressed) : 'none'}), vmlinuz ${MB(kernelBytes)}, initramfs ${MB(initramfsBytes)}; unpacked ${MiB(unpacked)} (budget ${budget?.unpacked ? MiB(budget.unpacked) : 'none'}); zstd window ${window}`);

      const level = DEFAULT_ZSTD_LEVEL;
      const long = DEFAULT_LONG_WINDOW;
      const [, seconds] = await timed(() => compressedSize(cpio, level, long));
      console.log(`  compressing the cpio at the release default (${label(level, long)}, 2 threads): ${seconds.toFixed(1)} s`);
      const tree = join(work, 'tree');
      mkdirSync(tree);
      await sh(`cd ${shellQuote(tree)} && cpio -idm --quiet < ${shellQuote(cpio)}`);
      const rows = withParts ? await contributors(tree, level, long) : [];
      if (withParts) console.log(`  largest contributors (each compressed alone at ${label(level, long)}; the whole is smaller than the sum):`);
      for (const row of rows.slice(0, 8)) console.log(`    ${row.name.padEnd(40)} ${MB(row.compressed).padStart(9)}  (${MiB(row.unpacked)} unpacked)`);
      const modules = rows.find((r) => r.name === 'usr/lib/modules') ?? (await moduleTree(tree, level, long));
      if (flavorId.startsWith('hook-debian-') && modules) {
        debianUserland = { compressed: initramfsBytes - modules.compressed, unpacked: unpacked - modules.unpacked };
      }

      const levels: { setting: string; bytes: number; seconds: number }[] = [];
      if (withLevels) {
        console.log('  zstd settings on this cpio (2 threads):');
        for (const [l, w] of [[3, 0], [9, 0], [9, 27], [15, 27], [19, 0], [19, 27], [22, 27]] as const) {
          const [bytes, s] = await timed(() => compressedSize(cpio, l, w));
          levels.push({ setting: label(l, w), bytes, seconds: s });
          console.log(`    ${label(l, w).padEnd(22)} ${MB(bytes).padStart(9)}  ${s.toFixed(1).padStart(6)} s`);
        }
      }

      const boots: { setting: string; memoryMb: number; unpackSeconds?: number; leastMemoryMb?: number }[] = [];
      if (withBoot) {
        const baseline = join(work, 'initramfs-zstd-9');
        await run('zstd', ['-T2', '-q', '-9', cpio, '-o', baseline]);
        for (const [setting, file] of [[`as built (${window} window)`, initramfs], ['zstd -9 (no --long)', baseline]] as const) {
          const { seconds: unpackSeconds } = await unpack(vmlinuz, file, 2048);
          // The decompressor's memory as an operator feels it: the least RAM that still unpacks.
          const leastMemoryMb = await leastMemory(vmlinuz, file, 128, 2048);
          boots.push({ setting, memoryMb: 2048, unpackSeconds, leastMemoryMb });
          console.log(
            `  kernel unpacks it (${setting}, TCG): ${unpackSeconds === undefined ? 'did not finish' : `${unpackSeconds.toFixed(1)} s`} with 2048 MiB RAM; ` +
              `least RAM that unpacks: ${leastMemoryMb === undefined ? 'not even 2048 MiB' : `${leastMemoryMb} MiB`}`,
          );
        }
      }
      out[flavorId] = { kernelBytes, initramfsBytes, total, unpacked, budget, window, compressSeconds: seconds, contributors: rows, levels, boots };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  mkdirSync(join(WORKSPACE, 'dist/bench'), { recursive: true });
  writeFileSync(join(WORKSPACE, 'dist/bench/size.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log('\nwritten: dist/bench/size.json');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
