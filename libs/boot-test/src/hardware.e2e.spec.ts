/**
 * The kernel modules HookOS keeps (issue 12's installer policy, libs/kernel/src/modules.ts) find
 * the hardware provisioning needs: one boot of hook-debian-amd64 under QEMU TCG with a virtio
 * disk and NIC, a USB keyboard on an xHCI controller, a disk on an AHCI controller and an NVMe
 * disk. Each one must be bound to its driver and show up where a workflow looks for it.
 */
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestSession } from '@hook/qemu';
import { createNetns, type TestNetns } from './netns';
import { DEFAULT_TEMPLATE_CONTAINERS, TEST_DISK_SERIAL, bootHookOs, bootTest, expectHealthyBoot, guestCommand, loginOnConsole } from './hookos';

const WORKSPACE = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';
const EXPECTED = DEFAULT_TEMPLATE_CONTAINERS;
const BOOT_TIMEOUT_MS = 6 * 60 * 1000;
const AHCI_SERIAL = 'hook-ahci-disk';
const NVME_SERIAL = 'hook-nvme-disk';

jest.setTimeout(BOOT_TIMEOUT_MS + 120000);

describe('HookOS hardware (hook-debian-amd64, QEMU TCG): the kept modules find it', () => {
  let netns: TestNetns | undefined;
  let session: GuestSession | undefined;
  let work: string | undefined;

  afterAll(async () => {
    await session?.close();
    await netns?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  bootTest('finds a virtio disk and NIC, a USB keyboard, an AHCI disk and an NVMe disk', async () => {
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
      extraQemuArgs: [
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
    expect(session.output).toMatch(/hook: network: eth0 10\.0\.2\.15\/24/);
    await loginOnConsole(session);

    const byId = await guestCommand(session, 'ls /dev/disk/by-id');
    expect(byId).toContain(`virtio-${TEST_DISK_SERIAL}`);
    expect(byId).toMatch(new RegExp(`ata-QEMU_HARDDISK_${AHCI_SERIAL}`));
    expect(byId).toMatch(new RegExp(`nvme-QEMU_NVMe_Ctrl_${NVME_SERIAL}`));
    const modules = await guestCommand(session, 'lsmod');
    for (const driver of ['virtio_net', 'virtio_blk', 'ahci', 'nvme', 'xhci_pci', 'usbhid']) expect(modules).toMatch(new RegExp(`^${driver} `, 'm'));
    expect(await guestCommand(session, 'cat /proc/bus/input/devices')).toContain('QEMU QEMU USB Keyboard');
  });
});
