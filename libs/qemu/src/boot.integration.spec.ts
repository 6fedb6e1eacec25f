/**
 * Integration: real QEMU boots of a real Debian kernel under TCG.
 * Debian packages: qemu-system-x86, ovmf (KVM probe), busybox-static, apt + dpkg (kernel download),
 * qemu-system-arm + qemu-efi-aarch64 + xorriso (aarch64 firmware test).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { run } from '@hook/process';
import { bootAndWait, chooseAccelerator, probeKvm } from './boot';
import { CMDLINE_PREFIX, debianTestKernel, isRunning, writeTinyInitramfs } from './testing';

describe('bootAndWait (integration: QEMU TCG, Debian kernel)', () => {
  let work: string;
  let kernel: string;
  let stayingUp: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'hook-qemu-spec-'));
    kernel = await debianTestKernel();
    stayingUp = join(work, 'stays-up.cpio');
    await writeTinyInitramfs(stayingUp, { marker: 'HOOK-TEST-INIT-REACHED', powerOff: false });
  }, 300_000);

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('finds the marker on the serial console and stops the still-running guest', async () => {
    const result = await bootAndWait({
      arch: 'x86_64',
      accel: 'tcg',
      kernel,
      initrd: stayingUp,
      append: 'console=ttyS0 hook_direct_boot=42',
      marker: 'HOOK-TEST-INIT-REACHED',
      timeoutMs: 90_000,
    });
    expect(result.found).toBe(true);
    expect(result.serialLog).toContain(`${CMDLINE_PREFIX}console=ttyS0 hook_direct_boot=42`);
    expect(result.seconds).toBeLessThan(90);
    expect(result.pid).toBeDefined();
    expect(isRunning(result.pid)).toBe(false);
  }, 120_000);

  it('gives up within its timeout on a marker that never comes, with QEMU gone', async () => {
    const started = Date.now();
    const result = await bootAndWait({
      arch: 'x86_64',
      accel: 'tcg',
      kernel,
      initrd: stayingUp,
      append: 'console=ttyS0',
      marker: /never printed \d+/,
      timeoutMs: 8_000,
    });
    const elapsed = (Date.now() - started) / 1000;
    expect(result.found).toBe(false);
    expect(result.seconds).toBeGreaterThanOrEqual(8);
    expect(elapsed).toBeLessThan(8 + 5); // a few seconds to stop QEMU
    expect(isRunning(result.pid)).toBe(false);
  }, 60_000);

  it('fails loudly when QEMU itself cannot start', async () => {
    await expect(
      bootAndWait({ arch: 'x86_64', accel: 'tcg', kernel, marker: 'x', timeoutMs: 20_000, extraArgs: ['-no-such-option'] }),
    ).rejects.toThrow(/QEMU failed: .*no-such-option/);
    await expect(bootAndWait({ arch: 'x86_64', accel: 'tcg', kernel: join(work, 'missing'), marker: 'x', timeoutMs: 1000 })).rejects.toThrow(
      UserError,
    );
  }, 30_000);
});

describe('aarch64 UEFI machine (integration: qemu-system-arm, qemu-efi-aarch64, xorriso)', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'hook-qemu-arm-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('starts AAVMF on ttyAMA0, which finds the CD-ROM and the scratch disk', async () => {
    // No arm64 kernel here (the host's apt has amd64 only): a data-only ISO shows the devices.
    await mkdir(join(work, 'tree'));
    await writeFile(join(work, 'tree', 'hello.txt'), 'hello\n');
    const iso = join(work, 'data.iso');
    await run('xorriso', ['-as', 'mkisofs', '-o', iso, join(work, 'tree')]);
    const result = await bootAndWait({
      arch: 'aarch64',
      accel: 'tcg',
      iso,
      disk: { sizeGb: 1 },
      marker: /Boot\d+ "EFI Internal Shell"/,
      timeoutMs: 60_000,
    });
    expect(result.found).toBe(true);
    expect(result.serialLog).toContain('UEFI firmware');
    expect(result.serialLog).toMatch(/Boot\d+ "UEFI QEMU QEMU CD-ROM/);
    expect(result.serialLog).toMatch(/Boot\d+ "UEFI Misc Device"/); // the virtio scratch disk
    expect(isRunning(result.pid)).toBe(false);
  }, 90_000);
});

describe('accelerator choice (integration: KVM probe)', () => {
  it('follows HOOK_QEMU_ACCEL and rejects nonsense', async () => {
    expect(await chooseAccelerator('x86_64', { HOOK_QEMU_ACCEL: 'tcg' })).toBe('tcg');
    expect(await chooseAccelerator('x86_64', { HOOK_QEMU_ACCEL: 'kvm' })).toBe('kvm');
    expect(await chooseAccelerator('aarch64', {})).toBe(process.arch === 'arm64' ? expect.anything() : 'tcg');
    await expect(chooseAccelerator('x86_64', { HOOK_QEMU_ACCEL: 'hvf' })).rejects.toThrow(UserError);
  });

  it('probes KVM within its bound and agrees with a real KVM boot', async () => {
    const started = Date.now();
    const kvmWorks = await probeKvm('x86_64');
    expect(Date.now() - started).toBeLessThan(15_000);
    if (!kvmWorks || process.arch !== 'x64') return; // this host: TCG only, the probe said so in time
    // Where the probe says yes, a KVM guest must really boot to Linux.
    const kernel = await debianTestKernel();
    const result = await bootAndWait({ arch: 'x86_64', accel: 'kvm', kernel, append: 'console=ttyS0', marker: 'Linux version', timeoutMs: 30_000 });
    expect(result.found).toBe(true);
  }, 60_000);
});
