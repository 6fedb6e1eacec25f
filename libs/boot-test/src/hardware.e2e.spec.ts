/**
 * The kernel modules HookOS keeps (issue 12's installer policy, libs/kernel/src/modules.ts) find
 * the hardware provisioning needs: one boot of hook-debian-amd64 under QEMU TCG with a virtio
 * disk and NIC, a USB keyboard on an xHCI controller, a disk on an AHCI controller and an NVMe
 * disk. Each one must be bound to its driver and show up where a workflow looks for it. Plus an
 * Intel 82551 NIC (QEMU's i82551, revision 0x0f): Linux's e100 must load its microcode
 * (e100/d102e_ucode.bin, "required" for that revision) to bring it up, which the kernel's firmware
 * loader now reads from the .xz file that came with the kernel (before, HookOS had no e100
 * firmware). The loader's debug lines (dynamic debug on the command line) name the file it read
 * and the sha256 of what it decompressed.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@hook/process';
import type { GuestSession } from '@hook/qemu';
import { createNetns, type TestNetns } from './netns';
import { DEFAULT_TEMPLATE_CONTAINERS, TEST_DISK_SERIAL, bootHookOs, bootTest, expectHealthyBoot, guestCommand, loginOnConsole } from './hookos';

const WORKSPACE = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';
const EXPECTED = DEFAULT_TEMPLATE_CONTAINERS;
const BOOT_TIMEOUT_MS = 6 * 60 * 1000;
const AHCI_SERIAL = 'hook-ahci-disk';
const NVME_SERIAL = 'hook-nvme-disk';
const E100_FIRMWARE = 'e100/d102e_ucode.bin';

jest.setTimeout(BOOT_TIMEOUT_MS + 6 * 60_000);

describe('HookOS hardware (hook-debian-amd64, QEMU TCG): the kept modules find it', () => {
  let netns: TestNetns | undefined;
  let session: GuestSession | undefined;
  let work: string | undefined;

  afterAll(async () => {
    await session?.close();
    await netns?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  bootTest('finds a virtio disk and NIC, a USB keyboard, an AHCI disk and an NVMe disk, and brings an 82551 NIC up with its firmware', async () => {
    work = await mkdtemp(join(tmpdir(), 'hook-hardware-'));
    const disk = async (name: string) => {
      const path = join(work as string, `${name}.img`);
      await writeFile(path, '');
      await truncate(path, 64 * 1024 * 1024);
      return path;
    };
    netns = await createNetns();
    session = await bootHookOs({
      workspaceRoot: WORKSPACE,
      flavorId: FLAVOR,
      name: 'hardware',
      network: { kind: 'user', netns: netns.name },
      cmdline: 'dyndbg="file drivers/base/firmware_loader/main.c +p"',
      extraQemuArgs: [
        // No netdev behind it: nothing it sends goes anywhere.
        '-device', 'i82551',
        '-device', 'qemu-xhci,id=xhci',
        '-device', 'usb-kbd,bus=xhci.0',
        '-drive', `if=none,id=ahcidisk,format=raw,file=${await disk('ahci')}`,
        '-device', 'ahci,id=ahci0',
        '-device', `ide-hd,drive=ahcidisk,bus=ahci0.0,serial=${AHCI_SERIAL}`,
        '-drive', `if=none,id=nvmedisk,format=raw,file=${await disk('nvme')}`,
        '-device', `nvme,drive=nvmedisk,serial=${NVME_SERIAL}`,
      ],
    });
    await expectHealthyBoot(session, EXPECTED, BOOT_TIMEOUT_MS);
    // Two NICs: which one the kernel names eth0 depends on which driver probes first.
    expect(session.output).toMatch(/hook: network: eth\d 10\.0\.2\.15\/24/);
    await loginOnConsole(session);

    const byId = await guestCommand(session, 'ls /dev/disk/by-id');
    expect(byId).toContain(`virtio-${TEST_DISK_SERIAL}`);
    expect(byId).toMatch(new RegExp(`ata-QEMU_HARDDISK_${AHCI_SERIAL}`));
    expect(byId).toMatch(new RegExp(`nvme-QEMU_NVMe_Ctrl_${NVME_SERIAL}`));
    const modules = await guestCommand(session, 'lsmod');
    for (const driver of ['virtio_net', 'virtio_blk', 'ahci', 'nvme', 'xhci_pci', 'usbhid']) expect(modules).toMatch(new RegExp(`^${driver} `, 'm'));
    expect(await guestCommand(session, 'cat /proc/bus/input/devices')).toContain('QEMU QEMU USB Keyboard');
    // Drivers of server NICs and enclosures with no device here still load, with what they need
    // (ice needs gnss, sfc mtd, ses enclosure: once missing, as Debian's package has no modules.dep).
    // The console's shell runs in the getty container: kmod and lib/modules are the host root's.
    const loaded = await guestCommand(session, 'chroot /host_root modprobe -a ice sfc ses qede mlx5_core bnxt_en && lsmod', 180_000);
    for (const driver of ['ice', 'gnss', 'sfc', 'mtd', 'ses', 'enclosure', 'qede', 'qed', 'mlx5_core', 'bnxt_en']) expect(loaded).toMatch(new RegExp(`^${driver} `, 'm'));

    // The 82551: e100 asks for its microcode when the interface goes up.
    const e100 = (await guestCommand(session, 'ls /sys/bus/pci/drivers/e100/*/net/')).trim();
    expect(e100).toMatch(/^eth\d+$/);
    await guestCommand(session, `ip link set dev ${e100} up; sleep 2; cat /sys/class/net/${e100}/operstate`);
    const dmesg = await guestCommand(session, 'dmesg | grep -E "firmware|e100" | grep -v "Loading firmware from /lib/firmware/updates"');
    expect(dmesg).toContain(`Loading firmware from /lib/firmware/${E100_FIRMWARE}.xz`);
    // The loader tries the plain name and .zst first ("firmware: failed to load ... (-2)" for
    // each, at info level), then .xz; e100's own error would be "Failed to load firmware".
    expect(dmesg).not.toMatch(/Failed to load firmware|xz decompression failed/);
    expect(dmesg).toContain(`Loaded FW: ${E100_FIRMWARE}, sha256: ${await sha256OfKernelFirmware(E100_FIRMWARE)}`);
  });
});

/** The sha256 of a firmware file as Debian ships it, from the .xz in the flavor's kernel.tar. */
async function sha256OfKernelFirmware(file: string): Promise<string> {
  const kernelTar = join(WORKSPACE, 'dist/kernels', FLAVOR, 'kernel.tar');
  const { stdout } = await run('sh', ['-c', `tar -xOf "$1" "./lib/firmware/$2.xz" | xz -dc | base64 -w0`, 'sh', kernelTar, file]);
  return createHash('sha256').update(Buffer.from(stdout, 'base64')).digest('hex');
}
