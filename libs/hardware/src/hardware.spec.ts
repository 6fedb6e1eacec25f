import { describeAnswer, hardwareMarkdown, idLabel, lookupDevice, moduleClass, moduleName, parseDevices, unmetDependencies, type HardwareIndex } from './index';

/** A slice of a real index (Debian 6.12 amd64): qede needs qed, which declares the firmware. */
const INDEX: HardwareIndex = {
  release: '6.12.117+deb13-amd64',
  modules: {
    qed: { path: 'kernel/drivers/net/ethernet/qlogic/qed/qed.ko.xz', class: 'network', size: 900_000, kept: true, depends: [], firmware: [{ file: 'qed/qed_init_values_zipped-8.59.1.0.bin', present: true }] },
    qede: { path: 'kernel/drivers/net/ethernet/qlogic/qede/qede.ko.xz', class: 'network', size: 100_000, kept: true, depends: ['qed'] },
    tg3: { path: 'kernel/drivers/net/ethernet/broadcom/tg3.ko.xz', class: 'network', size: 90_000, kept: true, depends: [], firmware: [{ file: 'tigon/tg3_tso5.bin', present: true }, { file: 'tigon/tg357766.bin', present: false, why: 'no package of Debian trixie non-free-firmware ships it' }] },
    ahci: { path: 'kernel/drivers/ata/ahci.ko.xz', class: 'storage', size: 30_000, kept: true, depends: [] },
    liquidio: { path: 'kernel/drivers/net/ethernet/cavium/liquidio/liquidio.ko.xz', class: 'network', size: 120_000, kept: false, dropped: 'out of production', depends: ['liquidio_core'] },
    liquidio_core: { path: 'kernel/drivers/net/ethernet/cavium/liquidio/liquidio-core.ko.xz', class: 'network', size: 80_000, kept: false, dropped: 'out of production', depends: [] },
    ax88179_178a: { path: 'kernel/drivers/net/usb/ax88179_178a.ko.xz', class: 'network', size: 20_000, kept: true, depends: [] },
    usb_storage: { path: 'kernel/drivers/usb/storage/usb-storage.ko.xz', class: 'storage', size: 40_000, kept: true, depends: [] },
  },
  ids: [
    ['pci:v00001077d00008070sv*sd*bc*sc*i*', 'qede'],
    ['pci:v000014E4d0000165Fsv*sd*bc*sc*i*', 'tg3'],
    ['pci:v*d*sv*sd*bc01sc06i01*', 'ahci'],
    ['pci:v0000177Dd00009702sv*sd*bc*sc*i*', 'liquidio'],
    ['usb:v0B95p1790d*dc*dsc*dp*ic*isc*ip*in*', 'ax88179_178a'],
    ['usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*', 'usb_storage'],
  ],
};

describe('reading devices', () => {
  it('takes vendor:device words, lspci -nn and -n lines and lsusb lines, and names what it cannot read', () => {
    const { devices, unreadable } = parseDevices(
      [
        '1077:8070',
        '3b:00.0 Ethernet controller [0200]: Broadcom Inc. and subsidiaries NetXtreme BCM5720 Gigabit Ethernet PCIe [14e4:165f]',
        '00:17.0 0106: 8086:a352 (rev 10)',
        'Bus 002 Device 003: ID 0b95:1790 ASIX Electronics Corp. AX88179 Gigabit Ethernet',
        'not a device',
      ].join('\n'),
    );
    expect(devices.map((d) => [d.bus, d.vendor, d.device, d.classCode])).toEqual([
      ['pci', '1077', '8070', undefined],
      ['pci', '14e4', '165f', '0200'],
      ['pci', '8086', 'a352', '0106'],
      ['usb', '0b95', '1790', undefined],
    ]);
    expect(unreadable).toEqual(['not a device']);
  });
});

describe('who drives a device', () => {
  const answer = (text: string) => describeAnswer(INDEX, 'hook-debian-amd64', lookupDevice(INDEX, parseDevices(text).devices[0]));

  it('names the kept module and the firmware its dependencies declare', () => {
    expect(answer('1077:8070')).toBe('1077:8070: qede (network, kept); firmware present: qed/qed_init_values_zipped-8.59.1.0.bin (via qed)');
  });

  it('names firmware that is missing, with why', () => {
    expect(answer('14e4:165f')).toBe('14e4:165f: tg3 (network, kept); firmware present: tigon/tg3_tso5.bin; firmware missing: tigon/tg357766.bin [no package of Debian trixie non-free-firmware ships it]');
  });

  it('matches a class driver when lspci gives the class, and not from IDs alone', () => {
    expect(answer('00:17.0 0106: 8086:a352 (rev 10)')).toBe('8086:a352: ahci (storage, kept, by device class); no firmware declared');
    expect(answer('8086:a352')).toBe('8086:a352: no module of hook-debian-amd64 (kernel 6.12.117+deb13-amd64) claims it');
  });

  it('says which dropped module would drive a device and what keeping it and its dependencies costs', () => {
    expect(answer('177d:9702')).toBe('177d:9702: not driven by hook-debian-amd64; liquidio would drive it (dropped: out of production); keeping it costs 195.3 KiB of modules');
  });

  it('looks up USB devices from lsusb, without letting class drivers claim every USB ID', () => {
    expect(answer('Bus 002 Device 003: ID 0b95:1790 ASIX')).toBe('usb 0b95:1790: ax88179_178a (network, kept); no firmware declared');
    expect(answer('Bus 002 Device 004: ID 1234:5678 Unknown')).toMatch(/^usb 1234:5678: no module .* claims it$/);
  });
});

describe('the index', () => {
  it('finds kept modules whose dependencies are not kept', () => {
    expect(unmetDependencies(INDEX)).toEqual([]);
    const broken: HardwareIndex = { ...INDEX, modules: { ...INDEX.modules, qed: { ...INDEX.modules.qed, kept: false, dropped: 'x' } } };
    expect(unmetDependencies(broken)).toEqual(['qede needs qed']);
  });

  it('names modules and classes as the kernel and operators do', () => {
    expect(moduleName('kernel/drivers/net/ethernet/qlogic/qede/qede.ko.xz')).toBe('qede');
    expect(moduleName('kernel/drivers/usb/storage/usb-storage.ko.zst')).toBe('usb_storage');
    expect(moduleClass('kernel/drivers/scsi/megaraid/megaraid_sas.ko.xz')).toBe('storage');
    expect(moduleClass('kernel/drivers/infiniband/hw/mlx5/mlx5_ib.ko.xz')).toBe('network');
    expect(moduleClass('kernel/drivers/hid/hid.ko.xz')).toBe('other');
    expect(idLabel('pci:v00001077d00008070sv*sd*bc*sc*i*')).toBe('1077:8070');
    expect(idLabel('pci:v*d*sv*sd*bc01sc06i01*')).toBe('class 010601');
    expect(idLabel('usb:v0B95p1790d*dc*dsc*dp*ic*isc*ip*in*')).toBe('usb 0b95:1790');
    expect(idLabel('virtio:d00000001v*')).toBe('virtio:d00000001v*');
  });

  it('reports kept modules by class with their IDs and firmware, and the dropped ones with their cost', () => {
    const text = hardwareMarkdown(INDEX, 'hook-debian-amd64');
    expect(text).toContain('5 kept modules claim 5 PCI, USB, vmbus and virtio IDs; 1 dropped modules would claim more.');
    expect(text).toContain('| qede | firmware present: qed/qed_init_values_zipped-8.59.1.0.bin (via qed) | 1077:8070 |');
    expect(text).toMatch(/## Storage \(2 modules\)[\s\S]*\| ahci \| no firmware declared \| class 010601 \|/);
    expect(text).toContain('| liquidio | network | out of production | 1 | 195.3 KiB |');
  });
});
