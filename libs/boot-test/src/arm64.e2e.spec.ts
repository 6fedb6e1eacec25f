/**
 * arm64 HookOS boots under qemu-system-aarch64 (virt machine, TCG, console ttyAMA0):
 * hook-debian-arm64 (Debian's arm64 kernel, images built through qemu-user on this host) to all
 * services up and a root shell on the ttyAMA0 getty, and its EFI ISO (Debian's arm64 GRUB)
 * through AAVMF to the same shell. Opt-in (HOOK_TEST_ARM64=yes): the cold arm64 build and the
 * emulated boots take longer than the rest of the test command (README, "arm64"); the
 * `test-arm64` target builds hook-debian-arm64 and its ISO first.
 * Debian packages: qemu-system-arm, qemu-efi-aarch64 (AAVMF), iproute2.
 */
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveFlavor } from '@hook/inventory';
import { HOOK_ISO_CMDLINE_PLACEHOLDER, patchCmdline } from '@hook/iso';
import type { GuestSession } from '@hook/qemu';
import { createNetns, type TestNetns } from './netns';
import { DEFAULT_TEMPLATE_CONTAINERS, TEST_DISK_SERIAL, bootHookOs, bootTest, expectHealthyBoot, expectNoProblems, guestCommand, loginOnConsole } from './hookos';
import { setting } from '@hook/settings';

const WORKSPACE = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-arm64';
const EXPECTED = DEFAULT_TEMPLATE_CONTAINERS;
/** Emulating another architecture under TCG is several times slower than the amd64 boots. */
const BOOT_TIMEOUT_MS = 15 * 60 * 1000;
const enabled = setting(process.env, 'HOOK_TEST_ARM64');
const describeArm64 = enabled ? describe : describe.skip;
if (!enabled) {
  // Said once, so a skipped run says why and how to run it.
  console.log('arm64 boots skipped: set HOOK_TEST_ARM64=yes (or run `bash scripts/test.sh --arm64`); they need hook-debian-arm64 built (npx nx run boot-test:test-arm64 builds it)');
}

jest.setTimeout(BOOT_TIMEOUT_MS + 5 * 60 * 1000);
/** An arm64 boot under TCG waits up to BOOT_TIMEOUT_MS for its services, then logs in and checks. */
const arm64Test = (name: string, fn: () => Promise<void>) => bootTest(name, fn, BOOT_TIMEOUT_MS + 10 * 60 * 1000);

function outputId(): string {
  return resolveFlavor(WORKSPACE, FLAVOR).outputId;
}

describeArm64('arm64 HookOS boot (hook-debian-arm64, qemu-system-aarch64 TCG; opt-in: HOOK_TEST_ARM64=yes)', () => {
  let netns: TestNetns | undefined;
  let session: GuestSession | undefined;
  let work: string | undefined;

  afterEach(async () => {
    await session?.close();
    await netns?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
    session = undefined;
    netns = undefined;
    work = undefined;
  });

  arm64Test('boots the kernel and initramfs to all services up, DHCP, and a root shell on the ttyAMA0 getty', async () => {
    const kernelRelease = (JSON.parse(readFileSync(join(WORKSPACE, 'dist/kernels', FLAVOR, 'kernel.json'), 'utf8')) as { release: string }).release;
    netns = await createNetns();
    session = await bootHookOs({ workspaceRoot: WORKSPACE, flavorId: FLAVOR, name: 'arm64', network: { kind: 'user', netns: netns.name }, maxRunMs: BOOT_TIMEOUT_MS + 4 * 60 * 1000 });
    await expectHealthyBoot(session, EXPECTED, BOOT_TIMEOUT_MS);
    expect(session.output).toMatch(/hook: network: eth0 10\.0\.2\.15\/24; nameservers: 10\.0\.2\.3/);

    await loginOnConsole(session, 5 * 60 * 1000);
    expect((await guestCommand(session, 'uname -m')).trim()).toBe('aarch64');
    expect((await guestCommand(session, 'uname -r')).trim()).toBe(kernelRelease);
    expect((await guestCommand(session, 'tty')).trim()).toBe('/dev/ttyAMA0');
    expect(await guestCommand(session, 'ls /dev/disk/by-id')).toContain(`virtio-${TEST_DISK_SERIAL}`);
    const modules = await guestCommand(session, 'lsmod');
    expect(modules).toMatch(/^virtio_net /m);
    expect(modules).toMatch(/^overlay /m);
    // Docker answers on arm64 too (the engine every workflow action runs in); hook-docker says
    // when dockerd answers, which under emulation and load can be after the getty is up.
    await session.waitFor('hook: docker: dockerd answers', 5 * 60 * 1000);
    expect(await guestCommand(session, 'docker version --format "{{.Server.Arch}}"', 120_000)).toMatch(/^arm64$/m);
    expectNoProblems(session, EXPECTED);

    session.type('poweroff\n');
    expect(await session.waitForExit(120_000)).toBeLessThan(120);
    expect(session.output).toContain('hook: services stopped');
  });

  arm64Test('boots the EFI ISO (Debian arm64 GRUB) through AAVMF to a root shell on ttyAMA0, with the command line patched in as Smee does', async () => {
    const iso = join(WORKSPACE, 'dist/hook', `hook-${outputId()}.iso`);
    if (!existsSync(iso)) throw new Error(`${iso} is not built: run npx nx run ${FLAVOR}:iso (the test-arm64 target does)`);
    work = await mkdtemp(join(tmpdir(), 'hook-arm64-iso-'));
    const patched = join(work, 'hook.iso');
    await copyFile(iso, patched);
    await patchCmdline(patched, HOOK_ISO_CMDLINE_PLACEHOLDER, 'console=ttyAMA0 hook_test_marker=arm64-iso');
    netns = await createNetns();
    session = await bootHookOs({ workspaceRoot: WORKSPACE, flavorId: FLAVOR, name: 'arm64-iso', iso: patched, network: { kind: 'user', netns: netns.name }, maxRunMs: BOOT_TIMEOUT_MS + 4 * 60 * 1000 });
    await loginOnConsole(session, BOOT_TIMEOUT_MS);
    expect(await guestCommand(session, 'cat /proc/cmdline')).toMatch(/BOOT_IMAGE=\/kernel console=ttyAMA0 hook_test_marker=arm64-iso +text/);
    expect((await guestCommand(session, 'tty')).trim()).toBe('/dev/ttyAMA0');
    expect((await guestCommand(session, 'uname -m')).trim()).toBe('aarch64');
    // Booted by the firmware: the kernel has EFI runtime services.
    expect((await guestCommand(session, 'ls /sys/firmware/efi')).length).toBeGreaterThan(0);
  });
});
