/**
 * HookOS boots: hook-debian-amd64 (Debian's kernel, no compile; built by this project's `test`
 * target's dependency on `hook-debian-amd64:build`) under QEMU TCG with a virtio disk and NIC.
 * Each boot runs QEMU inside a network namespace of its own, so nothing leaves this machine.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestSession } from '@hook/qemu';
import { DNSMASQ_READY, withBrokenNtpd, withDnsmasqServer } from './fixtures';
import { createBridgedTaps, createNetns, type TestNetns } from './netns';
import { DEFAULT_TEMPLATE_CONTAINERS, TEST_DISK_SERIAL, TEST_MAC, bootHookOs, bootTest, expectHealthyBoot, expectNoProblems, flavorBootFiles, guestCommand, linkAcrossSegments, loginOnConsole } from './hookos';

const WORKSPACE = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';
const SERVER_MAC = '52:54:00:77:00:01';
const EXPECTED = DEFAULT_TEMPLATE_CONTAINERS;
const BOOT_TIMEOUT_MS = 6 * 60 * 1000;
const kernelRelease = (JSON.parse(readFileSync(join(WORKSPACE, 'dist/kernels', FLAVOR, 'kernel.json'), 'utf8')) as { release: string }).release;

jest.setTimeout(BOOT_TIMEOUT_MS + 120000);

describe('HookOS boot (hook-debian-amd64, QEMU TCG)', () => {
  let netns: TestNetns | undefined;
  let session: GuestSession | undefined;

  afterEach(async () => {
    await session?.close();
    await netns?.dispose();
    session = undefined;
    netns = undefined;
  });

  async function boot(name: string, cmdline = '', initrd?: string): Promise<GuestSession> {
    netns = await createNetns();
    session = await bootHookOs({ workspaceRoot: WORKSPACE, flavorId: FLAVOR, name, cmdline, initrd, network: { kind: 'user', netns: netns.name } });
    return session;
  }

  bootTest('comes up with DHCP, a getty with a root shell, the hardware found; poweroff stops the services and QEMU', async () => {
    const guest = await boot('dhcp');
    await expectHealthyBoot(guest, EXPECTED, BOOT_TIMEOUT_MS);
    expect(guest.output).toContain('hook: init: moving the root filesystem to tmpfs');
    expect(guest.output).toMatch(/hook: network: eth0 10\.0\.2\.15\/24; nameservers: 10\.0\.2\.3/);

    await loginOnConsole(guest);
    expect((await guestCommand(guest, 'uname -r')).trim()).toBe(kernelRelease);
    expect(await guestCommand(guest, 'ls /dev/disk/by-id')).toContain(`virtio-${TEST_DISK_SERIAL}`);
    const modules = await guestCommand(guest, 'lsmod');
    expect(modules).toMatch(/^virtio_net /m);
    expect(modules).toMatch(/^virtio_blk /m);
    expect(await guestCommand(guest, 'cat /etc/resolv.conf')).toMatch(/^nameserver 10\.0\.2\.3$/m);
    // The clock comes from the RTC (QEMU gives it the host's time; no NTP server is reachable).
    const guestSeconds = Number((await guestCommand(guest, 'date +%s')).trim());
    expect(Math.abs(guestSeconds - Date.now() / 1000)).toBeLessThan(300);
    expect(await guestCommand(guest, 'cat /var/log/001-dhcp-once.log')).toMatch(/leased 10\.0\.2\.15/);
    // The initramfs is one zstd frame per image; a file stored once and named in two of them
    // (its data in the earlier) has its data under both names in the booted system.
    const shared = await linkAcrossSegments(flavorBootFiles(WORKSPACE, FLAVOR).initrd);
    expect(shared.frames).toBeGreaterThan(10);
    // The console's shell runs in the getty container: the host's root is at /host_root. A line
    // of its own: service messages on the console may come between the command's lines.
    expect(await guestCommand(guest, `cmp /host_root/${shared.withData} /host_root/${shared.linked} && stat -c %s /host_root/${shared.linked}`)).toMatch(new RegExp(`^${shared.size}$`, 'm'));

    const from = guest.mark();
    guest.type('poweroff\n');
    expect(await guest.waitForExit(20000)).toBeLessThan(20);
    const shutdown = guest.output.slice(from);
    expect(shutdown).toContain('hook: shutdown: stopping');
    expect(shutdown).toMatch(/hook: stopping services: .*hook-docker/);
    expect(shutdown).toContain('hook: services stopped');
    expectNoProblems(guest, EXPECTED);
  });

  bootTest('configures the address from ipam= without any DHCP client; the ACPI power button powers off', async () => {
    const mac = TEST_MAC.replace(/:/g, '-');
    const guest = await boot('ipam', `ipam=${mac}::10.0.2.15:255.255.255.0:10.0.2.2:hooktest:10.0.2.3:example.test:`);
    await expectHealthyBoot(guest, EXPECTED, BOOT_TIMEOUT_MS);
    expect(guest.output).toContain('hook: ipam: eth0 10.0.2.15/24, gateway 10.0.2.2, nameservers 10.0.2.3: no DHCP');
    expect(guest.output).toMatch(/hook: network: eth0 10\.0\.2\.15\/24; nameservers: 10\.0\.2\.3/);

    await loginOnConsole(guest);
    expect(await guestCommand(guest, 'ip route')).toMatch(/^default via 10\.0\.2\.2 dev eth0/m);
    expect(await guestCommand(guest, 'cat /etc/resolv.conf')).toBe('search example.test\nnameserver 10.0.2.3\n');
    expect((await guestCommand(guest, 'hostname')).trim()).toBe('hooktest');
    // No DHCP client ran: the onboot and the service both said so, and no dhcpcd process exists.
    expect(await guestCommand(guest, 'cat /var/log/001-dhcp-once.log /var/log/dhcp-daemon.log')).toMatch(/no DHCP client runs[\s\S]*no DHCP client runs/);
    expect((await guest.shell('pidof dhcpcd')).status).not.toBe(0);
    expectNoProblems(guest, EXPECTED);

    const from = guest.mark();
    await guest.monitor('system_powerdown');
    expect(await guest.waitForExit(20000)).toBeLessThan(20);
    expect(guest.output.slice(from)).toContain('hook: services stopped');
  });

  bootTest('says what is wrong with bad network parameters, once each, and still reaches a getty', async () => {
    const mac = TEST_MAC.replace(/:/g, '-');
    const guest = await boot('bad-params', `ipam=${mac}::10.0.2.15::10.0.2.2:::: interface=eth9 vlan_id`);
    await expectHealthyBoot(guest, EXPECTED, BOOT_TIMEOUT_MS);
    const lines = [
      'hook: vlan: vlan_id is given without a value; use vlan_id=<1-4094> hw_addr=<MAC>; no VLAN configured',
      `hook: ipam: '${mac}::10.0.2.15::10.0.2.2::::' lacks netmask dns (`,
      'hook: dhcp: interface=eth9 names no interface (have: eth0 lo); DHCP waits for it',
    ];
    for (const line of lines) expect(guest.output.split(line).length - 1).toBe(1);
    await loginOnConsole(guest);
    const initLog = await guestCommand(guest, 'cat /var/log/init.log');
    for (const line of lines) expect(initLog).toContain(line.replace(/^hook: /, ''));
    expectNoProblems(guest, EXPECTED);
  });

  bootTest('puts the machine on vlan_id= with hw_addr=, leased by a DHCP server that serves only that VLAN', async () => {
    // This host's kernel has no 802.1Q: Debian's dnsmasq serves VLAN 42 from a second HookOS
    // guest (ipam= puts it on the VLAN), both guests on taps of one bridge in a test namespace.
    const work = await mkdtemp(join(tmpdir(), 'hook-vlan-'));
    const taps = await createBridgedTaps(2);
    let server: GuestSession | undefined;
    try {
      const serverInitrd = join(work, 'initramfs-dhcp-server');
      await withDnsmasqServer(flavorBootFiles(WORKSPACE, FLAVOR).initrd, serverInitrd, 'eth0.42');
      server = await bootHookOs({
        workspaceRoot: WORKSPACE,
        flavorId: FLAVOR,
        name: 'vlan-dhcp-server',
        initrd: serverInitrd,
        mac: SERVER_MAC,
        cmdline: `ipam=${SERVER_MAC.replace(/:/g, '-')}:42:192.168.77.1:255.255.255.0:::192.168.77.1::`,
        network: { kind: 'tap', netns: taps.netns.name, tap: taps.taps[1] },
      });
      await server.waitFor(DNSMASQ_READY, BOOT_TIMEOUT_MS);
      session = await bootHookOs({
        workspaceRoot: WORKSPACE,
        flavorId: FLAVOR,
        name: 'vlan',
        cmdline: `vlan_id=42 hw_addr=${TEST_MAC}`,
        network: { kind: 'tap', netns: taps.netns.name, tap: taps.taps[0] },
      });
      await expectHealthyBoot(session, EXPECTED, BOOT_TIMEOUT_MS);
      expect(session.output).toContain('hook: vlan: eth0.42 (VLAN 42 on eth0)');
      expect(session.output).toMatch(/hook: network: eth0\.42 192\.168\.77\.\d+\/24; nameservers: 192\.168\.77\.1/);
      expect(server.output).toMatch(new RegExp(`DHCPACK\\(eth0\\.42\\) 192\\.168\\.77\\.\\d+ ${TEST_MAC}`));
    } finally {
      await session?.close();
      session = undefined;
      await server?.close();
      await taps.netns.dispose();
      await rm(work, { recursive: true, force: true });
    }
  });

  bootTest('fails, printing the serial console, when a service breaks (a fixture breaks ntpd on purpose)', async () => {
    const work = await mkdtemp(join(tmpdir(), 'hook-broken-'));
    try {
      const initrd = join(work, 'initramfs-broken');
      await withBrokenNtpd(flavorBootFiles(WORKSPACE, FLAVOR).initrd, initrd);
      const guest = await boot('broken-service', '', initrd);
      // However late the broken service ends, the check must then fail and show the console.
      await guest.waitFor('hook: service ntpd: exited with status 3', BOOT_TIMEOUT_MS);
      const failure = expectHealthyBoot(guest, EXPECTED, BOOT_TIMEOUT_MS);
      await expect(failure).rejects.toThrow(/service ntpd: exited with status 3: broken on purpose/);
      await expect(failure).rejects.toThrow(/--- last 200 lines of the serial console ---[\s\S]*hook: init: all services started/);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
