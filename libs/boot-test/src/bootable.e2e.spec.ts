/**
 * Bootable media boot: grub-debian-amd64's disk image (GPT, one FAT32 EFI System partition,
 * GRUB, hook-debian-amd64's kernel and initramfs) written by @hook/bootable with TINK_*
 * settings, then booted by OVMF in QEMU (TCG) from that disk alone: no -kernel, no ISO, no
 * network boot. HookOS must come up with all its services, and /proc/cmdline must carry the
 * parameters given at build time. QEMU runs in a network namespace of its own.
 * With HOOK_TEST_ARM64=yes (and hook-debian-arm64 built), grub-debian-arm64's image boots by
 * AAVMF under qemu-system-aarch64 to all services and a root shell on ttyAMA0 too (measured:
 * services at 29 s of guest uptime, 65 s in all under TCG).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBootableMedia, type WrittenMedium } from '@hook/bootable';
import type { GuestSession } from '@hook/qemu';
import { createNetns, type TestNetns } from './netns';
import { DEFAULT_TEMPLATE_CONTAINERS, TEST_MAC, bootHookOs, bootTest, expectHealthyBoot, guestCommand, loginOnConsole } from './hookos';
import { setting } from '@hook/settings';

const WORKSPACE = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';
const EXPECTED = DEFAULT_TEMPLATE_CONTAINERS;
const BOOT_TIMEOUT_MS = 6 * 60 * 1000;
/** What the medium is built with: none of upstream's defaults, so each one shows it was used. */
const SETTINGS = {
  TINK_WORKER_IMAGE: '10.0.2.2:5000/tinkerbell/tink-agent:e2e',
  TINK_SERVER: '10.0.2.2',
  TINK_GRPC_PORT: '42999',
  TINK_TLS: 'true',
  WORKER_ID: TEST_MAC,
};

jest.setTimeout(BOOT_TIMEOUT_MS + 180000);

/** What a test started: stopped and removed after it. */
const started: { netns?: TestNetns; session?: GuestSession; dir?: string } = {};
afterEach(async () => {
  await started.session?.close();
  await started.netns?.dispose();
  if (started.dir) await rm(started.dir, { recursive: true, force: true });
  started.session = started.netns = started.dir = undefined;
});

/** Writes the bootable's medium with SETTINGS (uncompressed, in a temp folder) and boots the flavor from that disk alone, in a namespace of its own. */
async function bootMedium(bootableId: string, flavorId: string, maxRunMs?: number): Promise<{ medium: WrittenMedium; session: GuestSession }> {
  started.dir = await mkdtemp(join(tmpdir(), `hook-${bootableId}-e2e-`));
  const env: NodeJS.ProcessEnv = { ...process.env, ...SETTINGS, BOARD: '', CARD_DEVICE: '' };
  const [medium] = await buildBootableMedia({ workspaceRoot: WORKSPACE, bootableId, env, compress: false, outputDir: started.dir });
  started.netns = await createNetns();
  started.session = await bootHookOs({ workspaceRoot: WORKSPACE, flavorId, name: `bootable-${bootableId}`, bootDisk: medium.file, network: { kind: 'user', netns: started.netns.name }, maxRunMs });
  return { medium, session: started.session };
}

describe('bootable media boot (grub-debian-amd64, OVMF + QEMU TCG)', () => {
  bootTest('boots from the disk image alone to all services, with the TINK_* parameters on /proc/cmdline', async () => {
    const { medium, session } = await bootMedium('grub-debian-amd64', FLAVOR);
    expect(medium.board).toBe('grub-debian-amd64-generic');
    expect(medium.file).toBe(join(started.dir as string, 'hook-bootable-grub-hook-debian-amd64.img'));
    await expectHealthyBoot(session, EXPECTED, BOOT_TIMEOUT_MS);

    await loginOnConsole(session);
    const cmdline = (await guestCommand(session, 'cat /proc/cmdline')).trim().split(/\s+/);
    // GRUB loaded the kernel from the FAT partition (it adds BOOT_IMAGE), with the medium's command line.
    expect(cmdline).toContain('BOOT_IMAGE=/vmlinuz');
    expect(cmdline).toEqual(
      expect.arrayContaining([
        'console=ttyS0',
        `worker_id=${SETTINGS.WORKER_ID}`,
        `tink_worker_image=${SETTINGS.TINK_WORKER_IMAGE}`,
        `grpc_authority=${SETTINGS.TINK_SERVER}:${SETTINGS.TINK_GRPC_PORT}`,
        `tinkerbell_tls=${SETTINGS.TINK_TLS}`,
        `syslog_host=${SETTINGS.TINK_SERVER}`,
      ]),
    );
    // HookOS's own services read them: bootkit tries the image the medium names.
    const bootkit = await guestCommand(
      session,
      "for i in $(seq 1 30); do grep -q 'pulling the worker image' /var/log/hook-bootkit.log 2>/dev/null && break; sleep 2; done; grep 'pulling the worker image' /var/log/hook-bootkit.log | head -n 3",
      90000,
    );
    expect(bootkit).toContain(SETTINGS.TINK_WORKER_IMAGE);

    session.type('poweroff\n');
    expect(await session.waitForExit(30000)).toBeLessThan(30);
  });
});

const ARM64_BOOT_TIMEOUT_MS = 15 * 60 * 1000;
const describeArm64 = setting(process.env, 'HOOK_TEST_ARM64') ? describe : describe.skip;

describeArm64('bootable media boot (grub-debian-arm64, AAVMF + qemu-system-aarch64 TCG; opt-in: HOOK_TEST_ARM64=yes)', () => {
  bootTest('boots from the disk image alone to a root shell on ttyAMA0, with the TINK_* parameters on /proc/cmdline', async () => {
    const { session } = await bootMedium('grub-debian-arm64', 'hook-debian-arm64', ARM64_BOOT_TIMEOUT_MS + 4 * 60 * 1000);
    await expectHealthyBoot(session, EXPECTED, ARM64_BOOT_TIMEOUT_MS);
    await loginOnConsole(session, 5 * 60 * 1000);
    const cmdline = (await guestCommand(session, 'cat /proc/cmdline', 60000)).trim().split(/\s+/);
    expect(cmdline).toEqual(expect.arrayContaining(['BOOT_IMAGE=/vmlinuz', 'console=ttyAMA0', `worker_id=${SETTINGS.WORKER_ID}`, `grpc_authority=${SETTINGS.TINK_SERVER}:${SETTINGS.TINK_GRPC_PORT}`]));
    session.type('poweroff\n');
    expect(await session.waitForExit(120000)).toBeLessThan(120);
  }, ARM64_BOOT_TIMEOUT_MS + 10 * 60 * 1000);
});
