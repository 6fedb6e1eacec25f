import { Logger, UserError } from '@hook/log';
import { qemuCommandLine, tinkerbellCmdline, upstreamRunOptions, type MachineOptions } from './command';

const serialFile = { serial: { file: '/tmp/x/serial.log' } } as const;

function argv(options: MachineOptions & { accel?: 'tcg' | 'kvm' }, files: Parameters<typeof qemuCommandLine>[1] = serialFile): string {
  const command = qemuCommandLine({ accel: 'tcg', ...options }, files);
  return [command.command, ...command.args].join(' ');
}

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = new Logger({ env: {}, color: false, sink: { write: (text: string) => lines.push(text.trim()) } });
  return { logger, lines };
}

describe('qemuCommandLine', () => {
  it('boots an x86_64 kernel directly with the serial console in a file and no network', () => {
    const line = argv({ arch: 'x86_64', kernel: '/k', initrd: '/i', append: 'console=ttyS0 a=b' }, { ...serialFile, pidFile: '/tmp/x/pid' });
    expect(line).toBe(
      'qemu-system-x86_64 -machine q35 -accel tcg,thread=single -cpu max -m 2048 -smp 2 -nodefaults -no-user-config ' +
        '-kernel /k -initrd /i -append console=ttyS0 a=b -display none -monitor none -serial file:/tmp/x/serial.log -pidfile /tmp/x/pid',
    );
    expect(line).not.toContain('-netdev');
    expect(line).not.toContain('pflash');
  });

  it('maps the UEFI code read-only and a private copy of the variables', () => {
    const line = argv({ arch: 'x86_64', iso: '/hook.iso' }, { ...serialFile, uefiVars: '/tmp/x/vars.fd' });
    expect(line).toContain('-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd');
    expect(line).toContain('-drive if=pflash,format=raw,unit=1,file=/tmp/x/vars.fd');
    expect(line).toContain('-drive if=ide,index=2,media=cdrom,readonly=on,format=raw,file=/hook.iso');
  });

  it('uses AAVMF, the virt machine and a SCSI CD-ROM on aarch64', () => {
    const line = argv({ arch: 'aarch64', iso: '/a,b.iso' }, { ...serialFile, uefiVars: '/v' });
    expect(line).toMatch(/^qemu-system-aarch64 -machine virt -accel tcg,thread=single -cpu cortex-a72 /);
    expect(line).toContain('file=/usr/share/AAVMF/AAVMF_CODE.fd');
    expect(line).toContain('-device virtio-scsi-pci,id=scsi0 -drive if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=/a,,b.iso -device scsi-cd,bus=scsi0.0,drive=cd0');
    expect(argv({ arch: 'aarch64', kernel: '/k', accel: 'kvm' })).toContain('-machine virt,gic-version=host -accel kvm -cpu host');
  });

  it('forwards ports from loopback only and sets the MAC when networking is asked for', () => {
    const line = argv({ arch: 'x86_64', kernel: '/k', netUser: true, mac: '52:54:00:12:34:56', hostForwards: [{ hostPort: 2222, guestPort: 22 }] });
    expect(line).toContain('-netdev user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22 -device virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56');
  });

  it('adds the scratch disk and the interactive console', () => {
    const line = argv({ arch: 'x86_64', kernel: '/k', disk: { sizeGb: 10 } }, { serial: 'stdio', disk: '/tmp/x/disk.raw' });
    expect(line).toContain('-drive index=0,media=disk,format=raw,file=/tmp/x/disk.raw');
    // The console on the terminal needs a serial port: -nodefaults gives none, -nographic adds none.
    expect(line).toContain('-serial mon:stdio');
    expect(line).not.toContain('-nographic');
  });

  it('boots a disk image through -bios firmware (u-boot) on virtio-blk-pci', () => {
    const line = argv({ arch: 'aarch64', bios: '/usr/lib/u-boot/qemu_arm64/u-boot.bin', bootDisk: '/m,1.img' });
    expect(line).toContain('-nodefaults -no-user-config -bios /usr/lib/u-boot/qemu_arm64/u-boot.bin -drive if=none,id=boot0,format=raw,file=/m,,1.img -device virtio-blk-pci,drive=boot0,bootindex=0');
    expect(line).not.toContain('pflash');
    expect(line).not.toContain('-kernel');
  });

  it('runs several TCG vCPUs on one thread (multi-threaded TCG oopses in the kernel text patching), one vCPU or KVM as asked', () => {
    expect(argv({ arch: 'x86_64', kernel: '/k', cpus: 2 })).toContain('-machine q35 -accel tcg,thread=single -cpu max -m 2048 -smp 2 ');
    expect(argv({ arch: 'x86_64', kernel: '/k', cpus: 1 })).toContain('-machine q35 -accel tcg -cpu max -m 2048 -smp 1 ');
    expect(argv({ arch: 'x86_64', kernel: '/k', cpus: 2, accel: 'kvm' })).toContain('-machine q35 -accel kvm -cpu host -m 2048 -smp 2 ');
  });

  it('netboots through the NIC iPXE: restricted user network, TFTP script, one forward per guest connection, the console on ttyS1', () => {
    const netboot = {
      arch: 'x86_64' as const,
      netUser: true,
      netboot: { tftpDir: '/tmp/x/tftp', bootfile: 'hook.ipxe' },
      guestForwards: [{ address: '10.0.2.100', port: 80, command: '/usr/bin/node /tmp/x/relay.js 4711' }],
      mac: '52:54:00:12:34:56',
    };
    const bios = argv(netboot, { serial: 'stdio', consolePort: 1 });
    expect(bios).toContain('-netdev user,id=net0,restrict=on,tftp=/tmp/x/tftp,bootfile=hook.ipxe,guestfwd=tcp:10.0.2.100:80-cmd:/usr/bin/node /tmp/x/relay.js 4711 ');
    expect(bios).toContain('-device virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,bootindex=0 -boot n');
    expect(bios).toContain('-serial null -display none -serial mon:stdio');
    expect(bios).not.toContain('-kernel');
    const uefi = argv({ ...netboot, uefi: true }, { serial: 'stdio', consolePort: 1, uefiVars: '/tmp/x/vars.fd' });
    expect(uefi).toContain('OVMF_CODE_4M.fd');
    expect(uefi).not.toContain('-boot n');
    expect(() => argv({ ...netboot, kernel: '/k' })).toThrow(/give no kernel/);
    expect(() => argv({ ...netboot, netUser: false })).toThrow(/need netUser/);
    expect(() => argv({ ...netboot, guestForwards: [{ address: '10.0.2.100', port: 80, command: 'a,b' }] })).toThrow(/cannot contain a comma/);
  });

  it('rejects machines that cannot work', () => {
    expect(() => argv({ arch: 'x86_64' })).toThrow(new UserError('nothing to boot: give a kernel (with an initrd), an ISO, firmware (bios) with a boot disk, or netboot'));
    expect(() => argv({ arch: 'aarch64', bios: '/u-boot.bin', uefi: true }, { ...serialFile, uefiVars: '/v' })).toThrow(new UserError('give either bios firmware or UEFI, not both'));
    expect(() => argv({ arch: 'x86_64', iso: '/i', uefi: false })).toThrow(UserError);
    expect(() => argv({ arch: 'x86_64', kernel: '/k', mac: 'nope', netUser: true })).toThrow(/not a MAC address/);
    expect(() => argv({ arch: 'x86_64', kernel: '/k', hostForwards: [{ hostPort: 1, guestPort: 2 }] })).toThrow(/need netUser/);
    expect(() => argv({ arch: 'mips' as 'x86_64', kernel: '/k' })).toThrow(/unsupported QEMU architecture 'mips'/);
  });
});

describe('tinkerbellCmdline', () => {
  it('uses upstream defaults and warns when TINK_SERVER or MAC is missing', () => {
    const { logger, lines } = capture();
    expect(tinkerbellCmdline({ TINK_SERVER: '10.0.0.1' }, 'x86_64', logger)).toBe(
      'tink_worker_image=ghcr.io/tinkerbell/tink-agent:latest tinkerbell_tls=false console=ttyS0',
    );
    expect(lines.join('\n')).toContain("tink-worker won't really work");
  });

  it('adds the worker identity and server when both are set', () => {
    const { logger, lines } = capture();
    const env = { TINK_SERVER: '10.0.0.1', MAC: '52:54:00:aa:bb:cc', TINK_GRPC_PORT: '4000', TINK_TLS: 'true', TINK_WORKER_IMAGE: 'reg/w:1' };
    expect(tinkerbellCmdline(env, 'aarch64', logger)).toBe(
      'tink_worker_image=reg/w:1 tinkerbell_tls=true grpc_authority=10.0.0.1:4000 syslog_host=10.0.0.1 ' +
        'worker_id=52:54:00:aa:bb:cc hw_addr=52:54:00:aa:bb:cc console=ttyAMA0',
    );
    expect(lines).toEqual([]);
  });

  it('gives upstream run defaults: UEFI, 2 CPUs, 2 GB, a 10 G disk, the MAC on the NIC', () => {
    const { logger } = capture();
    const options = upstreamRunOptions({ arch: 'x86_64', kernel: '/k', initrd: '/i', netUser: true }, { TINK_SERVER: 's', MAC: '52:54:00:aa:bb:cc' }, logger);
    expect(options).toMatchObject({ uefi: true, cpus: 2, memoryMb: 2048, disk: { sizeGb: 10 }, mac: '52:54:00:aa:bb:cc' });
    expect(options.append).toContain('grpc_authority=s:42113');
  });
});
