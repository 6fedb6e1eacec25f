/**
 * An arm64 GRUB medium boots under AAVMF (issue 15, Done when, without waiting for a whole
 * arm64 HookOS): the grub handler lays out grub-debian-arm64's medium (GRUB from Debian's
 * grub-efi-arm64-bin, downloaded on an amd64 host) around hook-debian-arm64's kernel (Debian's
 * arm64 kernel: dist/kernels/hook-debian-arm64 when built, else the package from the host's
 * mirror) and a tiny busybox initramfs; the real disk writer makes the image; qemu-system-aarch64
 * boots it with AAVMF from the disk alone. GRUB's embedded config must find the partition by its
 * marker, read grub.cfg and start the kernel, whose /init prints the medium's command line on
 * ttyAMA0. The full HookOS on this medium is in libs/boot-test/src/bootable.e2e.spec.ts
 * (HOOK_TEST_ARM64=yes).
 * Debian packages: qemu-system-arm, qemu-efi-aarch64, grub-common, fdisk, mtools.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { boardsOf, findFlavor, loadInventory, mediumImageName } from '@hook/inventory';
import { bootAndWait } from '@hook/qemu';
import { CMDLINE_PREFIX, writeTinyInitramfs } from '@hook/qemu/testing';
import { tinkSettings } from './cmdline';
import { writeDiskImage } from './disk-image';
import { grubHandler } from './handlers/grub';
import { arm64Busybox, debianArm64Kernel } from './testing/arm64-boot-files';

const WORKSPACE = resolve(__dirname, '../../..');
const MARKER = 'hook-grub-arm64-medium-booted';
const BOOT_TIMEOUT_MS = 240_000;

jest.setTimeout(BOOT_TIMEOUT_MS + 300_000);

/** hook-debian-arm64's kernel when built, else Debian's arm64 kernel package. */
async function arm64Kernel(): Promise<string> {
  const built = join(WORKSPACE, 'dist/kernels/hook-debian-arm64/kernel');
  return existsSync(built) ? built : debianArm64Kernel();
}

describe('grub-debian-arm64 medium in qemu-system-aarch64 (e2e: AAVMF, Debian arm64 GRUB and kernel)', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('AAVMF starts BOOTAA64.EFI from the disk, GRUB finds its partition and boots the kernel with the medium\'s command line on ttyAMA0', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hook-grub-arm64-'));
    const initramfs = join(dir, 'initramfs');
    await writeTinyInitramfs(initramfs, { marker: MARKER, busybox: await arm64Busybox() });
    const flavor = findFlavor(loadInventory(WORKSPACE), 'hook-debian-arm64');
    const bootable = flavor.BOOTABLES.find((b) => b.ID === 'grub-debian-arm64');
    if (!bootable) throw new Error('hook-debian-arm64 has no bootable grub-debian-arm64');
    const [board] = boardsOf(bootable);
    const env: NodeJS.ProcessEnv = { ...process.env, TINK_SERVER: '10.0.2.2', TINK_WORKER_IMAGE: 'registry.local/tink-agent:e2e', WORKER_ID: '52:54:00:12:34:56' };
    const layout = await grubHandler.layout({
      workspaceRoot: WORKSPACE,
      flavor: { flavorId: flavor.id, outputId: 'e2e', arch: 'aarch64', kernel: await arm64Kernel(), initramfs },
      bootable,
      board,
      tink: tinkSettings(env, board.id),
      env,
      workDir: await mkdtemp(join(dir, 'work-')),
    });
    const image = join(dir, mediumImageName(bootable, board, 'e2e'));
    await writeDiskImage(layout, image, { sourceDateEpoch: 1_700_000_000, env });

    const result = await bootAndWait({ arch: 'aarch64', uefi: true, bootDisk: image, memoryMb: 1024, cpus: 1, marker: MARKER, timeoutMs: BOOT_TIMEOUT_MS });
    if (!result.found) console.log(result.serialLog.slice(-4000));
    expect(result.found).toBe(true);
    const cmdline = result.serialLog.split('\n').find((l) => l.startsWith(CMDLINE_PREFIX))?.slice(CMDLINE_PREFIX.length).trim();
    expect(cmdline).toBe(
      'BOOT_IMAGE=/vmlinuz console=ttyAMA0 worker_id=52:54:00:12:34:56 tink_worker_image=registry.local/tink-agent:e2e grpc_authority=10.0.2.2:42113 tinkerbell_tls=false syslog_host=10.0.2.2',
    );
    console.log(`grub-debian-arm64 medium: marker after ${result.seconds.toFixed(1)} s (${result.accel})`);
  });
});
