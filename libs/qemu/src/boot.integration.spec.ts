/**
 * Integration: real QEMU boots of a real Debian kernel under TCG.
 * Debian packages: qemu-system-x86, ovmf (KVM probe), busybox-static, apt + dpkg (kernel download),
 * qemu-system-arm + qemu-efi-aarch64 + xorriso (aarch64 firmware test).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import { UserError } from '@hook/log';
import { run } from '@hook/process';
import { bootAndWait, chooseAccelerator, cpuCanVirtualize, probeKvm } from './boot';
import { CMDLINE_PREFIX, debianTestKernel, isRunning, writeTinyInitramfs } from './testing';

describe('bootAndWait (integration: QEMU TCG, Debian kernel)', () => {
  const work = useTempDir('hook-qemu-spec-', 'all');
  let kernel: string;
  let stayingUp: string;

  beforeAll(async () => {
    kernel = await debianTestKernel();
    stayingUp = join(work.path, 'stays-up.cpio');
    await writeTinyInitramfs(stayingUp, { marker: 'HOOK-TEST-INIT-REACHED', powerOff: false });
  }, 300_000);


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
    await expect(bootAndWait({ arch: 'x86_64', accel: 'tcg', kernel: join(work.path, 'missing'), marker: 'x', timeoutMs: 1000 })).rejects.toThrow(
      UserError,
    );
  }, 30_000);
});

describe('aarch64 UEFI machine (integration: qemu-system-arm, qemu-efi-aarch64, xorriso)', () => {
  const work = useTempDir('hook-qemu-arm-', 'all');

  it('starts AAVMF on ttyAMA0, which finds the CD-ROM and the scratch disk', async () => {
    // No arm64 kernel here (the host's apt has amd64 only): a data-only ISO shows the devices.
    await mkdir(join(work.path, 'tree'));
    await writeFile(join(work.path, 'tree', 'hello.txt'), 'hello\n');
    const iso = join(work.path, 'data.iso');
    await run('xorriso', ['-as', 'mkisofs', '-o', iso, join(work.path, 'tree')]);
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

  it('decides without a blind wait where the CPU cannot virtualize, and the probe keeps its bound', async () => {
    if (process.arch === 'x64' && !(await cpuCanVirtualize())) {
      const started = Date.now();
      expect(await chooseAccelerator('x86_64', {})).toBe('tcg');
      expect(Date.now() - started).toBeLessThan(1000);
    }
    const started = Date.now();
    await probeKvm('x86_64');
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);

  // Only where KVM could run at all (an x86 host whose CPU has vmx or svm, and /dev/kvm);
  // elsewhere reported as skipped.
  const kvmPossible = process.arch === 'x64' && existsSync('/dev/kvm') && /^flags\s*:.*\b(vmx|svm)\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  (kvmPossible ? it : it.skip)('agrees with a real KVM boot: a guest reaches Linux under KVM exactly when the probe says KVM works (needs vmx/svm and /dev/kvm)', async () => {
    const kvmWorks = await probeKvm('x86_64');
    const kernel = await debianTestKernel();
    const result = await bootAndWait({ arch: 'x86_64', accel: 'kvm', kernel, append: 'console=ttyS0', marker: 'Linux version', timeoutMs: 30_000 }).catch(() => ({ found: false }));
    expect({ probe: kvmWorks, booted: result.found }).toEqual({ probe: kvmWorks, booted: kvmWorks });
  }, 90_000);
});
