/**
 * HookOS netbooted the way Tinkerbell's Smee boots it: the NIC's iPXE (Debian's ipxe-qemu ROM)
 * runs Smee's script from QEMU's TFTP and fetches hook-debian-amd64's kernel and initramfs over
 * HTTP from a server on loopback, under SeaBIOS and OVMF; the console is ttyS1. QEMU's user
 * network is restricted (restrict=on): the guest reaches that server and nothing else.
 */
import { join } from 'node:path';
import { DEFAULT_TEMPLATE_CONTAINERS, TEST_MAC, bootTest, expectHealthyBoot, expectNoProblems, guestCommand, loginOnConsole } from './hookos';
import { describeDownload, expectNetbootDownloads, netbootHookOs, type NetbootedGuest } from './netboot';

const WORKSPACE = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';
const BOOT_TIMEOUT_MS = 6 * 60 * 1000;
const DOWNLOAD_TIMEOUT_MS = 2 * 60 * 1000;
/** What Smee's flags and the Hardware record would give (no Tink server runs here). */
const TINK_ENV = { TINK_SERVER: '10.0.2.2', TINK_GRPC_PORT: '42113', TINK_WORKER_IMAGE: '127.0.0.1/embedded/hook-test-agent:1' };

jest.setTimeout(BOOT_TIMEOUT_MS + 120000);

describe("HookOS netboot through iPXE with Smee's script (hook-debian-amd64, QEMU TCG)", () => {
  let guest: NetbootedGuest | undefined;

  afterEach(async () => {
    await guest?.close();
    guest = undefined;
  });

  for (const firmware of ['bios', 'uefi'] as const) {
    bootTest(`${firmware === 'bios' ? 'SeaBIOS' : 'OVMF'}: iPXE fetches both files over HTTP; HookOS comes up with Smee's kernel parameters and a root shell on ttyS1`, async () => {
      const started = Date.now();
      guest = await netbootHookOs({ workspaceRoot: WORKSPACE, flavorId: FLAVOR, firmware, name: `netboot-${firmware}`, env: TINK_ENV });
      const { session, netboot } = guest;
      const downloads = await expectNetbootDownloads(guest, DOWNLOAD_TIMEOUT_MS);
      console.log(`netboot ${firmware}: iPXE downloaded ${describeDownload(downloads)}, ${((Date.now() - started) / 1000).toFixed(0)} s after QEMU started`);
      expect(downloads.map((r) => [r.path, r.status])).toEqual([
        [`/${netboot.kernelName}`, 200],
        [`/${netboot.initrdName}`, 200],
      ]);
      await expectHealthyBoot(session, DEFAULT_TEMPLATE_CONTAINERS, BOOT_TIMEOUT_MS);
      expect(session.output).toMatch(/hook: network: eth0 10\.0\.2\.15\/24/);

      await loginOnConsole(session);
      expect((await guestCommand(session, 'tty')).trim()).toBe('/dev/ttyS1');
      const cmdline = (await guestCommand(session, 'cat /proc/cmdline')).trim();
      // iPXE on UEFI hands the kernel its image name first, as EFI load options (a real machine shows the same).
      expect(cmdline).toBe(firmware === 'uefi' ? `${netboot.kernelName} ${netboot.kernelParams}` : netboot.kernelParams);
      for (const param of [
        'facility=onprem',
        'syslog_host=10.0.2.2',
        'grpc_authority=10.0.2.2:42113',
        'tinkerbell_tls=false',
        'tinkerbell_insecure_tls=false',
        `worker_id=${TEST_MAC}`,
        `hw_addr=${TEST_MAC}`,
        'modules=loop,squashfs,sd-mod,usb-storage',
        'intel_iommu=on',
        'iommu=pt',
        `initrd=${netboot.initrdName}`,
        'console=tty0',
        'console=ttyS1,115200',
        `tink_worker_image=${TINK_ENV.TINK_WORKER_IMAGE}`,
      ]) {
        expect(cmdline.split(' ')).toContain(param);
      }
      expectNoProblems(session, DEFAULT_TEMPLATE_CONTAINERS);
      console.log(`netboot ${firmware}: QEMU start to a root shell in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    });
  }

  bootTest('fails with what the server saw and the serial console when the initramfs is missing', async () => {
    guest = await netbootHookOs({ workspaceRoot: WORKSPACE, flavorId: FLAVOR, firmware: 'bios', name: 'netboot-missing-initrd', initrdSource: join(WORKSPACE, 'dist/hook/no-such-initramfs') });
    const failure = expectNetbootDownloads(guest, DOWNLOAD_TIMEOUT_MS);
    await expect(failure).rejects.toThrow(new RegExp(`iPXE asked for /${guest.netboot.initrdName} and got 404`));
    await expect(failure).rejects.toThrow(/GET \/vmlinuz-hook-debian-amd64: 200[\s\S]*--- last 60 lines of the serial console ---/);
  });

  bootTest('fails with the serial console when the iPXE script is broken (nothing is fetched)', async () => {
    const transformScript = (script: string) => script.replace('kernel ${download-url}', 'kernal ${download-url}');
    guest = await netbootHookOs({ workspaceRoot: WORKSPACE, flavorId: FLAVOR, firmware: 'bios', name: 'netboot-broken-script', transformScript });
    expect(guest.netboot.script).toContain('kernal ${download-url}');
    const failure = expectNetbootDownloads(guest, 60_000);
    await expect(failure).rejects.toThrow(/iPXE did not fetch vmlinuz-hook-debian-amd64|iPXE did not fetch \/vmlinuz-hook-debian-amd64/);
    await expect(failure).rejects.toThrow(/\(no request\)\n--- last 60 lines of the serial console ---/);
  });
});
