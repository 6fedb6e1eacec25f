/**
 * Trimming a prebuilt kernel's module tree to what an installer needs, with a report of what
 * was kept and dropped. A module another kept module depends on (modules.dep) is always kept.
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes, log } from '@hook/log';
import { run } from '@hook/process';
import { readModuleTable, type ModuleTable } from './hardware';

export interface ModuleRule {
  /** Path prefix under lib/modules/<release>/ (e.g. `kernel/sound/`). */
  prefix: string;
  why: string;
}

export interface ModulePolicy {
  name: string;
  drop: ModuleRule[];
  /** Prefixes kept even though a drop rule matches (more specific wins). */
  keep: ModuleRule[];
}

/**
 * What an installer keeps: an allow list. `kernel/` is dropped as a whole and the prefixes below
 * are kept (the longest matching prefix decides, so a drop rule inside a kept folder wins again).
 * Kept: network and storage controllers, USB and input, the filesystems provisioning writes,
 * netfilter, bridge, overlay and veth for Docker, virtio and the hypervisors' drivers, crypto,
 * hardware monitoring and IPMI that actions use. Anything a kept module needs stays (modules.dep).
 */
const KEEP = (why: string, ...prefixes: string[]): ModuleRule[] => prefixes.map((prefix) => ({ prefix, why }));
const DROP = KEEP;

export const INSTALLER_POLICY: ModulePolicy = {
  name: 'installer',
  drop: [
    { prefix: 'kernel/', why: 'not needed to provision a machine (outside the kept list)' },
    ...DROP('wireless, WWAN and other radio links', 'kernel/drivers/net/wireless/', 'kernel/drivers/net/wwan/', 'kernel/drivers/net/ieee802154/', 'kernel/drivers/net/hamradio/', 'kernel/drivers/net/mhi_net.ko'),
    ...DROP('legacy or non-Ethernet links (CAN, PPP, ARCnet, FDDI, WAN, PLIP, SLIP)', 'kernel/drivers/net/can/', 'kernel/drivers/net/ppp/', 'kernel/drivers/net/arcnet/', 'kernel/drivers/net/fddi/', 'kernel/drivers/net/wan/', 'kernel/drivers/net/plip/', 'kernel/drivers/net/slip/', 'kernel/drivers/net/appletalk/', 'kernel/drivers/net/caif/'),
    ...DROP('Fibre Channel and iSCSI offload HBAs (SAN storage)', 'kernel/drivers/scsi/lpfc/', 'kernel/drivers/scsi/qla2xxx/', 'kernel/drivers/scsi/qla4xxx/', 'kernel/drivers/scsi/bfa/', 'kernel/drivers/scsi/bnx2fc/', 'kernel/drivers/scsi/bnx2i/', 'kernel/drivers/scsi/qedf/', 'kernel/drivers/scsi/qedi/', 'kernel/drivers/scsi/fcoe/', 'kernel/drivers/scsi/libfc/', 'kernel/drivers/scsi/csiostor/', 'kernel/drivers/scsi/be2iscsi/', 'kernel/drivers/scsi/cxgbi/', 'kernel/drivers/scsi/fnic/', 'kernel/drivers/scsi/elx/'),
    ...DROP('USB gadget, serial adapters and other USB devices', 'kernel/drivers/usb/gadget/', 'kernel/drivers/usb/serial/', 'kernel/drivers/usb/misc/', 'kernel/drivers/usb/atm/', 'kernel/drivers/usb/image/', 'kernel/drivers/usb/usbip/'),
    ...DROP('joysticks, touchscreens and tablets', 'kernel/drivers/input/joystick/', 'kernel/drivers/input/touchscreen/', 'kernel/drivers/input/tablet/'),
    ...DROP('NVMe target (serving disks)', 'kernel/drivers/nvme/target/'),
    ...DROP('DRBD, Ceph RBD and cluster RAID (storage clusters)', 'kernel/drivers/block/drbd/', 'kernel/drivers/block/rbd.ko', 'kernel/drivers/block/rnbd/', 'kernel/drivers/md/md-cluster.ko', 'kernel/drivers/md/dm-vdo/'),
    ...DROP('NVMe over RDMA and Fibre Channel', 'kernel/drivers/nvme/host/nvme-rdma.ko', 'kernel/drivers/nvme/host/nvme-fc.ko'),
    ...DROP('PCMCIA cards', 'kernel/drivers/net/ethernet/3com/3c589_cs.ko', 'kernel/drivers/net/ethernet/8390/pcnet_cs.ko', 'kernel/drivers/net/ethernet/8390/axnet_cs.ko', 'kernel/drivers/net/ethernet/fujitsu/', 'kernel/drivers/net/ethernet/smsc/smc91c92_cs.ko', 'kernel/drivers/net/ethernet/xircom/', 'kernel/drivers/ata/pata_pcmcia.ko', 'kernel/drivers/scsi/pcmcia/', 'kernel/drivers/tty/serial/8250/serial_cs.ko', 'kernel/drivers/mmc/host/sdricoh_cs.ko', 'kernel/drivers/net/ethernet/3com/3c574_cs.ko', 'kernel/drivers/net/ethernet/amd/nmclan_cs.ko', 'kernel/drivers/usb/host/sl811_cs.ko', 'kernel/drivers/tty/ipwireless/'),
    ...DROP('parallel port, Thunderbolt networking, USB phone modems', 'kernel/drivers/char/ppdev.ko', 'kernel/drivers/char/lp.ko', 'kernel/drivers/i2c/busses/i2c-parport.ko', 'kernel/drivers/input/serio/parkbd.ko', 'kernel/drivers/pps/clients/pps_parport.ko', 'kernel/drivers/net/thunderbolt/', 'kernel/drivers/net/usb/cdc-phonet.ko', 'kernel/drivers/net/usb/hso.ko', 'kernel/drivers/net/usb/qmi_wwan.ko', 'kernel/drivers/net/usb/cdc_mbim.ko'),
    ...DROP('IP sets, IPVS, and traffic-control actions (Docker needs none of them)', 'kernel/net/netfilter/ipset/', 'kernel/net/netfilter/ipvs/', 'kernel/net/netfilter/xt_set.ko', 'kernel/net/netfilter/xt_ipvs.ko', 'kernel/net/sched/'),
    ...DROP('code pages other than 437, ISO 8859-1 and UTF-8', 'kernel/fs/nls/nls_'),
    ...DROP('mice and other input devices (a keyboard is enough)', 'kernel/drivers/input/mouse/', 'kernel/drivers/input/misc/', 'kernel/drivers/input/keyboard/cros_ec_keyb.ko', 'kernel/drivers/input/rmi4/'),
    ...DROP('ChromeOS embedded controllers (hardware monitoring, clock)', 'kernel/drivers/hwmon/cros_ec_hwmon.ko', 'kernel/drivers/rtc/rtc-wilco-ec.ko'),
    ...DROP('old parallel SCSI adapters', 'kernel/drivers/scsi/aic7xxx/', 'kernel/drivers/scsi/aic94xx/', 'kernel/drivers/scsi/sym53c8xx_2/', 'kernel/drivers/scsi/BusLogic.ko', 'kernel/drivers/scsi/initio.ko', 'kernel/drivers/scsi/advansys.ko', 'kernel/drivers/scsi/dc395x.ko', 'kernel/drivers/scsi/am53c974.ko', 'kernel/drivers/scsi/dmx3191d.ko', 'kernel/drivers/scsi/a100u2w.ko', 'kernel/drivers/scsi/atp870u.ko', 'kernel/drivers/scsi/imm.ko', 'kernel/drivers/scsi/ppa.ko', 'kernel/drivers/scsi/wd719x.ko'),
    ...DROP('USB Type-C port managers', 'kernel/drivers/usb/typec/'),
    ...DROP('Xen disk backend, test and monitoring devices (serving disks to guests, null_blk, vsockmon)', 'kernel/drivers/xen/xen-scsiback.ko', 'kernel/drivers/block/null_blk/', 'kernel/drivers/net/vsockmon.ko'),
    ...DROP('Broadcom 4401 10/100 (b44), a laptop NIC of the 2000s that needs the SSB and PCMCIA cores', 'kernel/drivers/net/ethernet/broadcom/b44.ko'),
    ...DROP('NICs out of production for years whose firmware alone would cost 2.3 MiB of the size budget (Cavium LiquidIO, Brocade BR-series CNAs, Myricom; upstream Hook builds none of them)', 'kernel/drivers/net/ethernet/cavium/liquidio/', 'kernel/drivers/net/ethernet/brocade/', 'kernel/drivers/net/ethernet/myricom/'),
  ],
  keep: [
    ...KEEP('network controllers and Docker networking', 'kernel/drivers/net/', 'kernel/drivers/ptp/', 'kernel/drivers/pps/', 'kernel/drivers/dca/'),
    ...KEEP('storage controllers and block devices', 'kernel/drivers/ata/', 'kernel/drivers/scsi/', 'kernel/drivers/nvme/', 'kernel/drivers/block/', 'kernel/drivers/md/', 'kernel/drivers/message/', 'kernel/drivers/mmc/', 'kernel/drivers/cdrom/', 'kernel/drivers/nvdimm/', 'kernel/drivers/dax/', 'kernel/block/'),
    ...KEEP('USB host controllers and USB storage', 'kernel/drivers/usb/'),
    ...KEEP('keyboards and input', 'kernel/drivers/hid/hid.ko', 'kernel/drivers/hid/hid-generic.ko', 'kernel/drivers/hid/usbhid/', 'kernel/drivers/hid/i2c-hid/', 'kernel/drivers/input/'),
    ...KEEP('virtio and hypervisors (QEMU/KVM, Hyper-V, Xen, VMware)', 'kernel/drivers/virtio/', 'kernel/drivers/hv/', 'kernel/drivers/xen/'),
    ...KEEP('platform basics (ACPI, PCI, IOMMU, DMA engines, firmware interfaces, RTC, serial, IPMI, TPM, hwrng)', 'kernel/drivers/acpi/', 'kernel/drivers/pci/', 'kernel/drivers/iommu/', 'kernel/drivers/dma/', 'kernel/drivers/firmware/', 'kernel/drivers/rtc/', 'kernel/drivers/tty/', 'kernel/drivers/char/'),
    ...KEEP('hardware monitoring and the buses its sensors sit on', 'kernel/drivers/hwmon/', 'kernel/drivers/i2c/'),
    ...KEEP('hardware crypto', 'kernel/drivers/crypto/'),
    ...KEEP('simple framebuffers and virtio-gpu for the console', 'kernel/drivers/gpu/drm/tiny/', 'kernel/drivers/gpu/drm/virtio/', 'kernel/drivers/gpu/drm/drm', 'kernel/drivers/gpu/drm/ttm/', 'kernel/drivers/gpu/drm/display/'),
    ...KEEP('filesystems that provisioning reads and writes', 'kernel/fs/ext4/', 'kernel/fs/jbd2/', 'kernel/fs/mbcache.ko', 'kernel/fs/xfs/', 'kernel/fs/btrfs/', 'kernel/fs/fat/', 'kernel/fs/exfat/', 'kernel/fs/ntfs3/', 'kernel/fs/isofs/', 'kernel/fs/udf/', 'kernel/fs/squashfs/', 'kernel/fs/overlayfs/', 'kernel/fs/fuse/', 'kernel/fs/nls/', 'kernel/fs/nls/nls_cp437.ko', 'kernel/fs/nls/nls_iso8859-1.ko', 'kernel/fs/nls/nls_utf8.ko', 'kernel/fs/nls/nls_ascii.ko', 'kernel/fs/efivarfs/', 'kernel/fs/binfmt_misc.ko', 'kernel/fs/quota/'),
    ...KEEP('netfilter, bridge, VLAN and the IP stack (Docker, VLAN provisioning)', 'kernel/net/netfilter/', 'kernel/net/ipv4/', 'kernel/net/ipv6/', 'kernel/net/bridge/', 'kernel/net/8021q/', 'kernel/net/802/', 'kernel/net/llc/', 'kernel/net/core/', 'kernel/net/packet/', 'kernel/net/unix/', 'kernel/net/netlink/', 'kernel/net/xfrm/', 'kernel/net/tls/'),
    ...KEEP('crypto and the libraries modules share', 'kernel/crypto/', 'kernel/arch/x86/crypto/', 'kernel/arch/arm64/crypto/', 'kernel/lib/'),
  ],
};

/**
 * arm64 boards (Debian's generic arm64 kernel runs on SoCs as well as servers) reach their
 * storage, USB and network only through the SoC's clocks, regulators, resets, PHYs, pin control
 * and power domains, which x86 machines leave to the firmware. About 2.3 MiB of modules.
 */
const ARM64_SOC_KEEP: ModuleRule[] = KEEP(
  'arm64 SoC basics: clocks, regulators, resets, PHYs, pin control, GPIO, power domains, buses, mailboxes, thermal and cpufreq',
  'kernel/drivers/clk/', 'kernel/drivers/regulator/', 'kernel/drivers/reset/', 'kernel/drivers/phy/', 'kernel/drivers/pinctrl/', 'kernel/drivers/gpio/',
  'kernel/drivers/pmdomain/', 'kernel/drivers/power/', 'kernel/drivers/soc/', 'kernel/drivers/mfd/', 'kernel/drivers/bus/', 'kernel/drivers/interconnect/',
  'kernel/drivers/nvmem/', 'kernel/drivers/mailbox/', 'kernel/drivers/irqchip/', 'kernel/drivers/thermal/', 'kernel/drivers/cpufreq/',
);

/** The installer policy for a kernel's arch (`x86_64`, `aarch64`): arm64 also keeps its SoC basics. */
export function installerPolicy(arch: string): ModulePolicy {
  return arch === 'aarch64' ? { ...INSTALLER_POLICY, keep: [...INSTALLER_POLICY.keep, ...ARM64_SOC_KEEP] } : INSTALLER_POLICY;
}

/** Upstream Hook's Armbian trimming. */
export const ARMBIAN_POLICY: ModulePolicy = {
  name: 'armbian (upstream)',
  drop: [
    { prefix: 'kernel/sound/', why: 'sound' },
    { prefix: 'kernel/drivers/gpu/drm/panthor/', why: 'panthor GPU' },
  ],
  keep: [],
};

export interface TrimReport {
  /** The tree before trimming (the hardware index says which dropped module would drive a device). */
  table: ModuleTable;
  /** Module path -> why it was dropped. */
  droppedModules: Record<string, string>;
  policy: string;
  release: string;
  kept: { count: number; bytes: number };
  dropped: { count: number; bytes: number; byReason: Record<string, { count: number; bytes: number }> };
  /** Modules a drop rule matched but that kept modules need. */
  keptAsDependency: string[];
  markdown: string;
}

function longestMatch(rules: ModuleRule[], path: string): ModuleRule | undefined {
  let best: ModuleRule | undefined;
  for (const rule of rules) if (path.startsWith(rule.prefix) && (!best || rule.prefix.length > best.prefix.length)) best = rule;
  return best;
}

/** The drop rule that applies to `path`, if any: the longest matching prefix decides between keep and drop. */
function ruleFor(policy: ModulePolicy, path: string): ModuleRule | undefined {
  const keep = longestMatch(policy.keep, path);
  const drop = longestMatch(policy.drop, path);
  if (!drop) return undefined;
  return keep && keep.prefix.length > drop.prefix.length ? undefined : drop;
}

/**
 * Applies `policy` to `modulesDir` (= .../lib/modules/<release>), runs `depmod -b` on the
 * result so modules.dep matches, and reports.
 */
export async function trimModules(rootDir: string, release: string, policy: ModulePolicy): Promise<TrimReport> {
  const modulesDir = join(rootDir, 'lib', 'modules', release);
  const table = await readModuleTable(rootDir, release);
  const files = [...table.sizes].map(([path, size]) => ({ path, size }));
  const deps = table.deps;

  const dropped = new Map<string, ModuleRule>();
  for (const file of files) {
    const rule = ruleFor(policy, file.path);
    if (rule) dropped.set(file.path, rule);
  }
  // Keep whatever a kept module needs, transitively.
  const keptAsDependency: string[] = [];
  const pending = files.map((f) => f.path).filter((p) => !dropped.has(p));
  while (pending.length) {
    const module = pending.pop() as string;
    for (const dep of deps.get(module) ?? []) {
      if (dropped.delete(dep)) {
        keptAsDependency.push(dep);
        pending.push(dep);
      }
    }
  }

  const byReason: Record<string, { count: number; bytes: number }> = {};
  let droppedBytes = 0;
  let keptBytes = 0;
  let keptCount = 0;
  for (const file of files) {
    const rule = dropped.get(file.path);
    if (!rule) {
      keptBytes += file.size;
      keptCount++;
      continue;
    }
    await rm(join(modulesDir, file.path));
    droppedBytes += file.size;
    const entry = (byReason[rule.why] ??= { count: 0, bytes: 0 });
    entry.count++;
    entry.bytes += file.size;
  }
  await removeEmptyDirs(join(modulesDir, 'kernel'));
  await run('depmod', ['-b', rootDir, release]);

  const lines = [
    `# Kernel modules kept and dropped (${release}, policy: ${policy.name})`,
    '',
    `- kept: ${keptCount} modules, ${formatBytes(keptBytes)}`,
    `- dropped: ${dropped.size} modules, ${formatBytes(droppedBytes)}`,
    '',
    '| dropped because | modules | size |',
    '|---|---:|---:|',
    ...Object.entries(byReason)
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .map(([why, v]) => `| ${why} | ${v.count} | ${formatBytes(v.bytes)} |`),
    '',
    policy.keep.length ? 'Kept on purpose:' : 'Kept on purpose: nothing.',
    ...[...new Set(policy.keep.map((r) => r.why))].map((why) => `- ${why}: ${policy.keep.filter((r) => r.why === why).map((r) => r.prefix).join(', ')}`),
    '',
    keptAsDependency.length ? `Kept because kept modules need them: ${keptAsDependency.sort().join(', ')}.` : 'No dropped module was needed by a kept one.',
    '',
    '## Dropped modules',
    '',
    ...Object.keys(byReason)
      .sort()
      .flatMap((why) => [
        `### ${why}`,
        '',
        [...dropped.entries()]
          .filter(([, rule]) => rule.why === why)
          .map(([path]) => path.replace(/^kernel\//, '').replace(/\.ko(\.(xz|zst|gz))?$/, ''))
          .sort()
          .join(', '),
        '',
      ]),
  ];
  const report: TrimReport = {
    table,
    droppedModules: Object.fromEntries([...dropped].map(([path, rule]) => [path, rule.why])),
    policy: policy.name,
    release,
    kept: { count: keptCount, bytes: keptBytes },
    dropped: { count: dropped.size, bytes: droppedBytes, byReason },
    keptAsDependency,
    markdown: lines.join('\n'),
  };
  log.info(`modules (${policy.name}): kept ${keptCount} (${formatBytes(keptBytes)}), dropped ${dropped.size} (${formatBytes(droppedBytes)})`);
  for (const [why, v] of Object.entries(byReason)) log.info(`  dropped ${why}: ${v.count} modules, ${formatBytes(v.bytes)}`);
  return report;
}

async function removeEmptyDirs(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return false;
  let empty = true;
  for (const entry of entries) {
    if (entry.isDirectory() && (await removeEmptyDirs(join(dir, entry.name)))) continue;
    empty = false;
  }
  if (empty) await rm(dir, { recursive: true });
  return empty;
}

export async function writeReport(path: string, report: TrimReport): Promise<void> {
  await writeFile(path, report.markdown);
}
