/**
 * An extlinux medium for a u-boot board boots (issue 15, Done when): the armbian_uboot_rockchip
 * handler writes the medium for board odroidm1 (its u-boot artifact a fixture in a local
 * registry, its console the PL011 that QEMU's virt machine has), the real disk writer makes it,
 * and qemu-system-aarch64 runs Debian's u-boot-qemu as firmware (-bios) with the medium as a
 * virtio disk: u-boot's distro boot finds /extlinux/extlinux.conf, starts the kernel and
 * initramfs, and a tiny busybox /init prints the command line and a marker on ttyAMA0.
 * The kernel is Debian's arm64 kernel, gzip-compressed here first, so the boot also shows the
 * handler unpacking it for booti. The board's own u-boot cannot run in QEMU: its offsets are
 * checked in handlers/armbian-uboot.integration.spec.ts.
 * Debian packages: u-boot-qemu, qemu-system-arm, docker-registry, dpkg-dev, fdisk, mtools; the
 * arm64 kernel and busybox-static come from the host's Debian mirror (cached in HOOK_TEST_CACHE).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { boardsOf, findFlavor, loadInventory, mediumImageName } from '@hook/inventory';
import { bootAndWait } from '@hook/qemu';
import { CMDLINE_PREFIX, writeTinyInitramfs } from '@hook/qemu/testing';
import { startRegistry, type TestRegistry } from '@hook/testing';
import { tinkSettings } from './cmdline';
import { writeDiskImage } from './disk-image';
import { armbianUbootHandlers } from './handlers/armbian-uboot';
import { publishUbootArtifact } from './handlers/armbian-uboot-fixture';
import { arm64Busybox, debianArm64Kernel } from './testing/arm64-boot-files';

const WORKSPACE = resolve(__dirname, '../../..');
const UBOOT_QEMU = '/usr/lib/u-boot/qemu_arm64/u-boot.bin';
const MARKER = 'hook-uboot-extlinux-booted';
const BOOT_TIMEOUT_MS = 180_000;

jest.setTimeout(BOOT_TIMEOUT_MS + 300_000);

describe('u-boot extlinux medium in qemu-system-aarch64 (e2e: Debian u-boot-qemu, Debian arm64 kernel)', () => {
  let registry: TestRegistry | undefined;
  let dir: string | undefined;

  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('u-boot finds /extlinux/extlinux.conf and boots the kernel and initramfs with the medium\'s command line', async () => {
    if (!existsSync(UBOOT_QEMU)) throw new Error(`${UBOOT_QEMU} not found; install it (Debian: apt-get install u-boot-qemu), or run scripts/setup.sh`);
    dir = await mkdtemp(join(tmpdir(), 'hook-uboot-qemu-'));
    registry = await startRegistry();
    const base = `${registry.host}/armbian/os`;
    await publishUbootArtifact({
      base,
      dir,
      board: 'odroidm1',
      branch: 'edge',
      tag: '2024.10-S0e2e-P0000',
      // Rockchip's loader is data to QEMU's u-boot; the console is the virt machine's PL011.
      files: { 'u-boot-rockchip.bin': Buffer.alloc(300_000, 0xa5), 'u-boot-metadata.sh': 'UBOOT_KERNEL_SERIALCON="ttyAMA0:115200"\n' },
    });

    const kernel = join(dir, 'vmlinuz');
    await writeFile(kernel, gzipSync(await readFile(await debianArm64Kernel()), { level: 1 }));
    const initramfs = join(dir, 'initramfs');
    await writeTinyInitramfs(initramfs, { marker: MARKER, busybox: await arm64Busybox() });

    const bootable = findFlavor(loadInventory(WORKSPACE), 'armbian-rockchip64-edge').BOOTABLES[0];
    expect(bootable.UBOOT_TYPE).toBe('extlinux');
    const board = boardsOf(bootable).find((b) => b.id === 'odroidm1');
    if (!board) throw new Error('no board odroidm1');
    const env: NodeJS.ProcessEnv = { ...process.env, CACHE_DIR: join(dir, 'cache'), ARMBIAN_BASE_ORAS_REF: base, TINK_SERVER: '10.0.2.2', TINK_WORKER_IMAGE: 'registry.local/tink-agent:e2e' };
    delete env.UBOOT_VERSION;
    const workDir = await mkdtemp(join(dir, 'work-'));
    const handler = armbianUbootHandlers().armbian_uboot_rockchip;
    const layout = await handler.layout({
      workspaceRoot: dir,
      flavor: { flavorId: 'armbian-rockchip64-edge', outputId: 'e2e', arch: 'aarch64', kernel, initramfs },
      bootable,
      board,
      tink: tinkSettings(env, board.id),
      env,
      workDir,
    });
    const image = join(dir, mediumImageName(bootable, board, 'e2e'));
    await writeDiskImage(layout, image, { sourceDateEpoch: 1_700_000_000, env });

    const result = await bootAndWait({ arch: 'aarch64', bios: UBOOT_QEMU, bootDisk: image, memoryMb: 1024, cpus: 1, marker: MARKER, timeoutMs: BOOT_TIMEOUT_MS });
    if (!result.found) console.log(result.serialLog.slice(-4000));
    expect(result.found).toBe(true);
    expect(result.serialLog).toContain('Retrieving file: /extlinux/extlinux.conf');
    const cmdline = result.serialLog.split('\n').find((l) => l.startsWith(CMDLINE_PREFIX))?.slice(CMDLINE_PREFIX.length).trim();
    expect(cmdline).toBe(
      'console=ttyAMA0,115200 worker_id=odroidm1 tink_worker_image=registry.local/tink-agent:e2e grpc_authority=10.0.2.2:42113 tinkerbell_tls=false syslog_host=10.0.2.2',
    );
    console.log(`u-boot extlinux boot: marker after ${result.seconds.toFixed(1)} s (${result.accel})`);
  });
});
