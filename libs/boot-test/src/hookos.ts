/**
 * Boots a built HookOS flavor in QEMU and checks what an operator would look at: the init's
 * console lines (every onboot container exits 0, every service starts and keeps running), the
 * network line, and a root shell on the serial getty.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeHeader } from '@hook/initramfs';
import { resolveFlavor } from '@hook/inventory';
import { run } from '@hook/process';
import { inWorkspace, verifySha256Sums } from '@hook/layout';
import { GuestSession, type QemuArch, type SessionOptions } from '@hook/qemu';

/** The MAC address of the test machine's NIC (hw_addr=, ipam= use it). */
export const TEST_MAC = '52:54:00:12:34:56';
/** The virtio disk's serial number: /dev/disk/by-id/virtio-<serial>. */
export const TEST_DISK_SERIAL = 'hook-test-disk';

export const ALL_SERVICES_STARTED = 'hook: init: all services started';
/** The containers the default template (linuxkit-templates/hook.template.yaml) runs: what every boot test expects to start. */
export const DEFAULT_TEMPLATE_CONTAINERS = {
  onboot: ['000-udev', '001-dhcp-once', '002-ntp-once'],
  services: ['acpi', 'dhcp-daemon', 'getty', 'hook-bootkit', 'hook-docker', 'ntpd', 'udev'],
};
const SETTLE_MS = 15000;
/** Services whose exit with status 0 is their normal end, not a failure. */
const FINISHING_SERVICES = new Set(['hook-bootkit']);
const PROMPT = /HookOS \S+:\S*# /;

export type GuestNetwork =
  /**
   * QEMU's user network (DHCP 10.0.2.15, router 10.0.2.2, DNS 10.0.2.3) with QEMU inside a
   * network namespace that has only loopback, so nothing the guest sends leaves this machine.
   * (restrict=on would do that too, but then QEMU's DHCP offers no router and no DNS.)
   */
  | { kind: 'user'; netns: string; guestForwards?: string[] }
  /** A tap device in a network namespace the test made (QEMU runs inside it). */
  | { kind: 'tap'; netns: string; tap: string };

export interface HookBootOptions {
  workspaceRoot: string;
  flavorId: string;
  /** Appended to console=<serial>. */
  cmdline?: string;
  network: GuestNetwork;
  /** Name of the console log under dist/boot-test/. */
  name: string;
  /** Boot this initramfs instead of the flavor's (e.g. with a fixture appended). */
  initrd?: string;
  memoryMb?: number;
  /** MAC address of the NIC (default TEST_MAC). */
  mac?: string;
  /** More QEMU arguments: controllers and disks beyond the virtio disk and NIC. */
  extraQemuArgs?: string[];
  /** Boot this EFI ISO through the firmware (OVMF, AAVMF) instead of the kernel and initramfs; it brings its own command line. */
  iso?: string;
  /** Boot this disk image (a bootable medium) through the UEFI firmware instead of the kernel and initramfs; it brings its own command line. */
  bootDisk?: string;
  /** Stop QEMU after this long whatever happens (the session's default is 15 minutes). */
  maxRunMs?: number;
}

export interface FlavorBootFiles {
  arch: QemuArch;
  kernel: string;
  initrd: string;
  kernelRelease?: string;
}

/** The flavor's built vmlinuz and initramfs in dist/hook. */
export function flavorBootFiles(workspaceRoot: string, flavorId: string): FlavorBootFiles & { checksums: string; sizeReport: string; reportPage: string; outputId: string } {
  const { flavor, outputId, files } = resolveFlavor(workspaceRoot, flavorId);
  const path = (file: keyof typeof files) => inWorkspace(workspaceRoot, files[file]);
  return { arch: flavor.ARCH, kernel: path('vmlinuz'), initrd: path('initramfs'), checksums: path('checksums'), sizeReport: path('sizeReport'), reportPage: path('reportPage'), outputId };
}

/**
 * The flavor's files checked against their SHA256SUMS once per test file: Nx restores a cached
 * build unchecked, and a corrupted initramfs must fail as that, not as a strange boot.
 */
const verifiedFlavors = new Map<string, Promise<string[]>>();
export function verifyFlavorFiles(workspaceRoot: string, flavorId: string): Promise<string[]> {
  const key = `${workspaceRoot}:${flavorId}`;
  if (!verifiedFlavors.has(key)) verifiedFlavors.set(key, verifySha256Sums(workspaceRoot, flavorBootFiles(workspaceRoot, flavorId).checksums, `${flavorId}:build`));
  return verifiedFlavors.get(key)!;
}

export function serialConsoleOf(arch: QemuArch): string {
  return arch === 'aarch64' ? 'ttyAMA0' : 'ttyS0';
}

/** Starts QEMU (TCG here) with a virtio disk and NIC; -no-reboot, so a reboot ends QEMU. */
export async function bootHookOs(options: HookBootOptions): Promise<GuestSession> {
  await verifyFlavorFiles(options.workspaceRoot, options.flavorId);
  const files = flavorBootFiles(options.workspaceRoot, options.flavorId);
  const network = options.network;
  const logDir = join(options.workspaceRoot, 'dist', 'boot-test');
  mkdirSync(logDir, { recursive: true });
  const extraArgs = ['-no-reboot'];
  const boot: Pick<SessionOptions, 'kernel' | 'initrd' | 'append' | 'iso' | 'bootDisk' | 'uefi'> = options.iso
    ? { iso: options.iso }
    : options.bootDisk
      ? { bootDisk: options.bootDisk, uefi: true }
      : { kernel: files.kernel, initrd: options.initrd ?? files.initrd, append: `console=${serialConsoleOf(files.arch)} ${options.cmdline ?? ''}`.trim() };
  const sessionOptions: SessionOptions = {
    arch: files.arch,
    ...boot,
    maxRunMs: options.maxRunMs,
    memoryMb: options.memoryMb ?? 2048,
    // One vCPU: with two, QEMU's multi-threaded TCG now and then runs a stale int3 of the
    // kernel's code patching (jump labels) on the other vCPU, and the guest oopses (seen under load).
    cpus: 1,
    logFile: join(logDir, `${options.name}.serial.log`),
    virtioDisk: { sizeMb: 256, serial: TEST_DISK_SERIAL },
    extraArgs,
  };
  if (network.kind === 'user') {
    const forwards = (network.guestForwards ?? []).map((f) => `,guestfwd=${f}`).join('');
    extraArgs.push('-netdev', `user,id=net0${forwards}`);
  } else {
    extraArgs.push('-netdev', `tap,id=net0,ifname=${network.tap},script=no,downscript=no`);
  }
  sessionOptions.wrapper = ['ip', 'netns', 'exec', network.netns];
  extraArgs.push('-device', `virtio-net-pci,netdev=net0,mac=${options.mac ?? TEST_MAC}`);
  extraArgs.push(...(options.extraQemuArgs ?? []));
  return watchForCrashes(await GuestSession.start(sessionOptions));
}

/**
 * What a kernel or a program prints when it crashes: any of these in a boot's serial log fails
 * the boot test, whatever else it checked (a guest can oops and still reach a prompt).
 */
export const CRASH_PATTERN = /\b(Oops|BUG:|Call Trace|Kernel panic|segfault|general protection)/;

/** The serial-console lines that report a crash. */
export function crashLines(consoleText: string): string[] {
  return consoleText.split('\n').filter((line) => CRASH_PATTERN.test(line)).map((line) => line.trim());
}

/** What the crash check reads of a guest. */
export type GuestConsole = Pick<GuestSession, 'output' | 'tail' | 'hasExited'>;

/** The guests a boot test started or found running: checked for crashes when it ends. */
const sessionsOfThisTest = new Set<GuestConsole>();

/** Puts a guest under the crash check of the running boot test (bootHookOs does for its guests). */
export function watchForCrashes<T extends GuestConsole>(session: T): T {
  sessionsOfThisTest.add(session);
  return session;
}

/** The Jest timeout of a boot test; its own bound (with the serial consoles) comes 30 s earlier. */
export const BOOT_TEST_TIMEOUT_MS = 20 * 60 * 1000;

/**
 * A Jest test that boots HookOS: it fails when any of its guests printed a crash (with that
 * guest's console), and when it runs out of time it fails with the tails of its guests' consoles
 * (Jest's own timeout would say nothing of them).
 */
export function bootTest(name: string, fn: () => Promise<void>, timeoutMs = BOOT_TEST_TIMEOUT_MS): void {
  it(name, () => runBootTest(fn, timeoutMs), timeoutMs + 30_000);
}

export async function runBootTest(fn: () => Promise<void>, timeoutMs: number): Promise<void> {
  for (const session of sessionsOfThisTest) if (session.hasExited) sessionsOfThisTest.delete(session);
  const consoles = () => [...sessionsOfThisTest].map((session) => session.tail(80)).join('\n');
  let timer: NodeJS.Timeout | undefined;
  const ranOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the boot test did not finish within ${Math.round(timeoutMs / 1000)} s\n${consoles()}`)), timeoutMs);
  });
  try {
    await Promise.race([fn(), ranOut]);
  } catch (error) {
    expectNoCrash();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  expectNoCrash();
}

/** Throws, with the guest's console, when a guest of this test printed a crash. */
function expectNoCrash(): void {
  for (const session of sessionsOfThisTest) {
    const crashes = crashLines(session.output);
    if (crashes.length > 0) throw new Error(`the guest crashed:\n  ${crashes.slice(0, 10).join('\n  ')}\n${session.tail(200)}`);
  }
}

/** What the init printed about its containers, from the console text. */
export interface ContainerReport {
  onbootExits: Map<string, number>;
  servicesStarted: string[];
  /** Lines that mean something went wrong: a failed container, a service that exited. */
  problems: string[];
}

export function containerReport(consoleText: string): ContainerReport {
  const onbootExits = new Map<string, number>();
  const servicesStarted: string[] = [];
  const problems: string[] = [];
  for (const line of consoleText.split('\n')) {
    const hook = /hook: (.*)$/.exec(line)?.[1];
    if (!hook) continue;
    let match: RegExpExecArray | null;
    if ((match = /^onboot (\S+): exited with status (\d+)/.exec(hook))) {
      onbootExits.set(match[1], Number(match[2]));
      if (match[2] !== '0') problems.push(line.trim());
    } else if ((match = /^service (\S+): started$/.exec(hook))) {
      servicesStarted.push(match[1]);
    } else if ((match = /^service (\S+): exited with status 0/.exec(hook)) && FINISHING_SERVICES.has(match[1])) {
      // Upstream's bootkit exits 0 once the worker runs; this one keeps watching it, but a flavor
      // built with upstream's service must not fail the check for that.
    } else if (/^(onboot|service) \S+: (failed|exited)/.test(hook)) {
      problems.push(line.trim());
    }
  }
  return { onbootExits, servicesStarted, problems };
}

/**
 * Waits for "all services started" and checks the init's lines: every onboot container exited
 * 0, the expected services started, none exited or failed. Throws with the console's tail.
 */
export async function expectHealthyBoot(session: GuestSession, expected: { onboot: string[]; services: string[] }, timeoutMs = 240000): Promise<ContainerReport> {
  await session.waitFor(ALL_SERVICES_STARTED, timeoutMs);
  // A service that cannot run exits within moments of its start: give it time to show.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return expectNoProblems(session, expected);
}

export function expectNoProblems(session: GuestSession, expected: { onboot: string[]; services: string[] }): ContainerReport {
  const report = containerReport(session.output);
  const missing = [
    ...expected.onboot.filter((name) => report.onbootExits.get(name) !== 0).map((name) => `onboot ${name} did not exit 0`),
    ...expected.services.filter((name) => !report.servicesStarted.includes(name)).map((name) => `service ${name} did not start`),
  ];
  const problems = [...report.problems, ...missing, ...crashLines(session.output)];
  if (problems.length > 0) throw new Error(`HookOS did not come up cleanly:\n  ${problems.join('\n  ')}\n${session.tail(200)}`);
  return report;
}

/** Waits for the root shell of the serial getty (INSECURE=true logs root in) and makes it script-friendly. */
export async function loginOnConsole(session: GuestSession, timeoutMs = 120000): Promise<void> {
  await session.waitFor(PROMPT, timeoutMs);
  // Kernel messages would interleave with command output; line editing echoes escape codes.
  await session.shell('dmesg -n 1; set +o emacs 2>/dev/null; true', 30000);
}

/** Runs a command at the console shell; throws (with the output) when it fails. */
export async function guestCommand(session: GuestSession, command: string, timeoutMs = 30000): Promise<string> {
  const { output, status } = await session.shell(command, timeoutMs);
  if (status !== 0) throw new Error(`'${command}' exited with status ${status} in the guest:\n${output}`);
  return output;
}

/**
 * A file the initramfs stores once and names in two segments (its data in an earlier one, a
 * hard link of size 0 in a later one), read from the archive as the kernel reads it: the proof
 * that names linked across segments get their data in the booted system.
 */
export async function linkAcrossSegments(initramfs: string): Promise<{ frames: number; withData: string; linked: string; size: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'hook-segments-'));
  try {
    const cpio = join(dir, 'initramfs.cpio');
    await run('zstd', ['-dqf', initramfs, '-o', cpio]);
    const frames = Number(/# Zstandard Frames: (\d+)/.exec((await run('zstd', ['-lv', initramfs])).stdout)?.[1] ?? 0);
    const archive = await readFile(cpio);
    const data = new Map<string, { name: string; size: number }>();
    let segmentDev = -1;
    // The largest such file: a library or a program, which nothing writes at run time (unlike etc/hosts).
    let found: { withData: string; linked: string; size: number } | undefined;
    for (let offset = 0; offset < archive.length && archive[offset] !== 0; ) {
      const record = decodeHeader(archive, offset);
      if (record.name === 'TRAILER!!!') break;
      const key = `${record.devMajor}:${record.devMinor}:${record.ino}`;
      // A name of its own segment (not a link into another) tells which segment this is.
      if (record.nlink === 1 || (record.mode & 0o170000) === 0o040000) segmentDev = record.devMinor;
      if (record.nlink >= 2 && record.filesize > 0) data.set(key, { name: record.name, size: record.filesize });
      const holder = data.get(key);
      if (record.nlink >= 2 && record.filesize === 0 && holder && record.devMinor !== segmentDev && holder.size > (found?.size ?? 0)) {
        found = { withData: holder.name, linked: record.name, size: holder.size };
      }
      offset = record.dataOffset + record.filesize + ((4 - (record.filesize % 4)) % 4);
    }
    if (!found) throw new Error(`${initramfs} names no file in two segments`);
    return { frames, ...found };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
