import { UserError, log, type Logger } from '@hook/log';
import { setting } from '@hook/settings';

export type QemuArch = 'x86_64' | 'aarch64';
export type Accelerator = 'tcg' | 'kvm';

export interface HostForward {
  /** Port on 127.0.0.1 of the host (forwards never listen on other addresses). */
  hostPort: number;
  guestPort: number;
  protocol?: 'tcp' | 'udp';
}

export interface GuestForward {
  address: string;
  port: number;
  /** Run through /bin/sh, once per connection; QEMU's option syntax forbids commas in it. */
  command: string;
}

export interface MachineOptions {
  arch: QemuArch;
  kernel?: string;
  initrd?: string;
  iso?: string;
  /** Kernel command line (direct kernel boot only). */
  append?: string;
  memoryMb?: number;
  cpus?: number;
  /** Boot through UEFI firmware; default true for an ISO, false for a kernel. */
  uefi?: boolean;
  /** A sparse scratch disk (the guest sees a blank disk, like upstream's 10 G disk). */
  disk?: { sizeGb: number };
  /**
   * Firmware loaded with -bios instead of a kernel or UEFI, e.g. Debian's u-boot-qemu
   * (/usr/lib/u-boot/qemu_arm64/u-boot.bin), which then boots from `bootDisk`.
   */
  bios?: string;
  /** A raw disk image to boot from (a bootable medium), on virtio-blk-pci; the guest may write to it. */
  bootDisk?: string;
  /** User-mode networking (no root, no bridge); off unless asked. */
  netUser?: boolean;
  /**
   * Boot from the network as a Tinkerbell machine does (no kernel given): the NIC's iPXE
   * (Debian's ipxe-qemu ROM) gets `bootfile` from QEMU's TFTP server in `tftpDir`, then fetches
   * over HTTP through `guestForwards`. The user network is restricted: the guest reaches nothing
   * but these forwards (needs netUser).
   */
  netboot?: { tftpDir: string; bootfile: string };
  /**
   * Guest connections to `address:port` in the user network, each one handed to a new `command`
   * on the host (its stdin/stdout are the connection), e.g. a relay to a loopback server.
   */
  guestForwards?: GuestForward[];
  /** MAC address of the user-mode NIC (so worker_id/hw_addr can match it). */
  mac?: string;
  hostForwards?: HostForward[];
  /** TCG with several vCPUs: one thread for all (default: safe) or one each (QEMU's default; benchmarks compare). */
  tcgThreads?: 'single' | 'multi';
  extraArgs?: string[];
}

/** Files the command line refers to, created by prepareMachine(). */
export interface MachineFiles {
  /** Writable copy of the UEFI variable store (uefi only). */
  uefiVars?: string;
  /** Scratch disk image (disk only). */
  disk?: string;
  /**
   * Serial console: a log file, the terminal (`-serial mon:stdio`, Ctrl-A X quits), or a unix socket
   * that QEMU waits on before it starts the guest (a test harness reads and types there, with
   * the human monitor on `monitorSocket`).
   */
  serial: { file: string } | { socket: string; monitorSocket: string } | 'stdio';
  /**
   * Which serial port carries the console (0: ttyS0, default). Smee's iPXE script puts the
   * console on ttyS1 (console=ttyS1,115200, as a data centre's serial-over-LAN), so a machine
   * booted that way gets an empty first port and its console on the second.
   */
  consolePort?: 0 | 1;
  /** QEMU writes its process id here (so a run can be stopped). */
  pidFile?: string;
}

export interface QemuCommand {
  command: string;
  args: string[];
}

interface ArchProfile {
  binary: string;
  debianPackage: string;
  console: string;
  machine: string;
  cpu: Record<Accelerator, string>;
  firmwareCode: string;
  firmwareVars: string;
  firmwarePackage: string;
}

const ARCH_PROFILES: Record<QemuArch, ArchProfile> = {
  x86_64: {
    binary: 'qemu-system-x86_64',
    debianPackage: 'qemu-system-x86',
    console: 'ttyS0',
    machine: 'q35',
    cpu: { tcg: 'max', kvm: 'host' },
    firmwareCode: '/usr/share/OVMF/OVMF_CODE_4M.fd',
    firmwareVars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
    firmwarePackage: 'ovmf',
  },
  aarch64: {
    binary: 'qemu-system-aarch64',
    debianPackage: 'qemu-system-arm',
    console: 'ttyAMA0',
    machine: 'virt',
    cpu: { tcg: 'cortex-a72', kvm: 'host' },
    firmwareCode: '/usr/share/AAVMF/AAVMF_CODE.fd',
    firmwareVars: '/usr/share/AAVMF/AAVMF_VARS.fd',
    firmwarePackage: 'qemu-efi-aarch64',
  },
};

export function archProfile(arch: QemuArch): ArchProfile {
  const profile = ARCH_PROFILES[arch];
  if (!profile) throw new UserError(`unsupported QEMU architecture '${arch}'; use x86_64 or aarch64`);
  return profile;
}

/** The kernel console of the emulated serial port: ttyS0 (x86_64) or ttyAMA0 (aarch64). */
export function serialConsole(arch: QemuArch): string {
  return archProfile(arch).console;
}

/** True when the machine boots through UEFI firmware. */
export function usesUefi(options: MachineOptions): boolean {
  return options.uefi ?? options.iso !== undefined;
}

/**
 * The QEMU argv for a machine. Pure: it only names files; prepareMachine() creates them.
 * No network device unless netUser, no display, no default devices.
 */
export function qemuCommandLine(options: MachineOptions & { accel: Accelerator }, files: MachineFiles): QemuCommand {
  const profile = archProfile(options.arch);
  validate(options);
  const args: string[] = [];
  const cpus = options.cpus ?? 2;
  // On arm64 hosts KVM needs the host's GIC version; TCG emulates the default one.
  const gic = options.arch === 'aarch64' && options.accel === 'kvm' ? ',gic-version=host' : '';
  args.push('-machine', `${profile.machine}${gic}`, '-accel', acceleratorOption(options.accel, cpus, options.tcgThreads));
  args.push('-cpu', profile.cpu[options.accel]);
  args.push('-m', String(options.memoryMb ?? 2048), '-smp', String(cpus));
  args.push('-nodefaults', '-no-user-config');

  if (usesUefi(options)) {
    if (!files.uefiVars) throw new Error('qemuCommandLine: a UEFI machine needs files.uefiVars');
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${driveValue(profile.firmwareCode)}`);
    args.push('-drive', `if=pflash,format=raw,unit=1,file=${driveValue(files.uefiVars)}`);
  }
  if (options.bios) args.push('-bios', options.bios);
  if (options.kernel) {
    args.push('-kernel', options.kernel);
    if (options.initrd) args.push('-initrd', options.initrd);
    if (options.append) args.push('-append', options.append);
  }
  if (options.iso) {
    if (options.arch === 'x86_64') {
      args.push('-drive', `if=ide,index=2,media=cdrom,readonly=on,format=raw,file=${driveValue(options.iso)}`);
    } else {
      // The virt machine has no IDE: a SCSI CD-ROM on virtio-scsi, which AAVMF boots.
      args.push('-device', 'virtio-scsi-pci,id=scsi0');
      args.push('-drive', `if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=${driveValue(options.iso)}`);
      args.push('-device', 'scsi-cd,bus=scsi0.0,drive=cd0');
    }
  }
  if (options.bootDisk) {
    args.push('-drive', `if=none,id=boot0,format=raw,file=${driveValue(options.bootDisk)}`);
    args.push('-device', 'virtio-blk-pci,drive=boot0,bootindex=0');
  }
  if (options.disk) {
    if (!files.disk) throw new Error('qemuCommandLine: a disk needs files.disk');
    // The machine's default interface: AHCI (/dev/sda) on q35, virtio (/dev/vda) on virt.
    args.push('-drive', `index=0,media=disk,format=raw,file=${driveValue(files.disk)}`);
  }
  if (options.netUser) {
    const forwards = (options.hostForwards ?? []).map((f) => `,hostfwd=${f.protocol ?? 'tcp'}:127.0.0.1:${f.hostPort}-:${f.guestPort}`);
    const guestForwards = (options.guestForwards ?? []).map((f) => `,guestfwd=tcp:${f.address}:${f.port}-cmd:${f.command}`);
    // Netboot: restrict=on keeps every guest packet on this machine except the explicit forwards.
    const netboot = options.netboot ? `,restrict=on,tftp=${options.netboot.tftpDir},bootfile=${options.netboot.bootfile}` : '';
    args.push('-netdev', `user,id=net0${netboot}${forwards.join('')}${guestForwards.join('')}`);
    // The NIC's option ROM is Debian's iPXE (ipxe-qemu), for BIOS and UEFI alike.
    args.push('-device', `virtio-net-pci,netdev=net0${options.mac ? `,mac=${options.mac}` : ''}${options.netboot ? ',bootindex=0' : ''}`);
    if (options.netboot && !usesUefi(options)) args.push('-boot', 'n');
  }
  // Ports before the console's port stay empty (the guest sees them, nothing listens).
  for (let port = 0; port < (files.consolePort ?? 0); port++) args.push('-serial', 'null');
  if (files.serial === 'stdio') {
    // -nodefaults leaves the machine without a serial port (-nographic alone then shows nothing):
    // the console on this terminal, multiplexed with QEMU's monitor (Ctrl-A C; Ctrl-A X quits).
    args.push('-display', 'none', '-serial', 'mon:stdio');
  } else if ('socket' in files.serial) {
    // Not "serial0": QEMU names the backend of a -serial null before it so.
    args.push('-display', 'none', '-chardev', `socket,id=console,path=${files.serial.socket},server=on,wait=on`, '-serial', 'chardev:console');
    args.push('-monitor', `unix:${files.serial.monitorSocket},server=on,wait=off`);
  } else {
    args.push('-display', 'none', '-monitor', 'none', '-serial', `file:${files.serial.file}`);
  }
  if (files.pidFile) args.push('-pidfile', files.pidFile);
  args.push(...(options.extraArgs ?? []));
  return { command: profile.binary, args };
}

/**
 * `-accel`. Multi-threaded TCG (QEMU's default for several vCPUs) sometimes runs a stale int3
 * while the guest kernel patches its text on another vCPU (`Oops: int3` in
 * __alloc_pages_noprof, "Fatal exception in interrupt"); one TCG thread for all vCPUs never did.
 */
export function acceleratorOption(accel: Accelerator, cpus: number, tcgThreads: 'single' | 'multi' = 'single'): string {
  return accel === 'tcg' && cpus > 1 && tcgThreads === 'single' ? 'tcg,thread=single' : accel;
}

function validate(options: MachineOptions): void {
  if (!options.kernel && !options.iso && !usesUefi(options) && !options.bios && !options.netboot) {
    throw new UserError('nothing to boot: give a kernel (with an initrd), an ISO, firmware (bios) with a boot disk, or netboot');
  }
  if (options.netboot && (options.kernel || options.iso || options.bootDisk)) throw new UserError('netboot boots what iPXE fetches: give no kernel, ISO or boot disk with it');
  if ((options.netboot || options.guestForwards?.length) && !options.netUser) throw new UserError('netboot and guest forwards need netUser: true');
  for (const forward of options.guestForwards ?? []) {
    if (forward.command.includes(',')) throw new UserError(`a guest forward's command cannot contain a comma (QEMU's option syntax): ${forward.command}`);
  }
  if (options.bios && usesUefi(options)) throw new UserError('give either bios firmware or UEFI, not both');
  if (options.initrd && !options.kernel) throw new UserError('an initrd needs a kernel to go with it');
  if (options.append && !options.kernel) throw new UserError('a kernel command line (append) needs a kernel; an ISO brings its own');
  if (options.iso && options.uefi === false) throw new UserError('the Hook ISO boots through UEFI only; drop uefi: false');
  if (options.mac && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(options.mac)) throw new UserError(`'${options.mac}' is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  if (options.hostForwards?.length && !options.netUser) throw new UserError('host port forwards need netUser: true');
  for (const forward of options.hostForwards ?? []) {
    for (const port of [forward.hostPort, forward.guestPort]) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`${port} is not a TCP/UDP port`);
    }
  }
  if (options.disk && !(options.disk.sizeGb > 0)) throw new UserError(`disk size must be positive, got ${options.disk.sizeGb} GB`);
}

/** QEMU's -drive splits on commas; a comma in a path is written twice. */
function driveValue(path: string): string {
  return path.replace(/,/g, ',,');
}

/**
 * The Tinkerbell part of the kernel command line upstream's `LK_RUN=qemu` uses, then the
 * console. TINK_SERVER and MAC together add the worker's server and identity; without them the
 * worker cannot really work, which is only worth a warning (kernel and services still boot).
 */
export function tinkerbellCmdline(env: NodeJS.ProcessEnv, arch: QemuArch, logger: Logger = log): string {
  const parts = [
    `tink_worker_image=${setting(env, 'TINK_WORKER_IMAGE')}`,
    `tinkerbell_tls=${setting(env, 'TINK_TLS')}`,
  ];
  const server = setting(env, 'TINK_SERVER');
  const mac = setting(env, 'MAC');
  if (server && mac) {
    parts.push(`grpc_authority=${server}:${setting(env, 'TINK_GRPC_PORT')}`, `syslog_host=${server}`, `worker_id=${mac}`, `hw_addr=${mac}`);
  } else {
    logger.warn('TINK_SERVER and MAC are not set, not adding tink-worker params to kernel cmdline.');
    logger.warn("tink-worker won't really work, but this is enough to test kernel and services.");
  }
  parts.push(`console=${serialConsole(arch)}`);
  return parts.join(' ');
}

/**
 * Upstream's `LK_RUN=qemu` machine: UEFI, 2 CPUs, 2 GB, a 10 G scratch disk, the Tinkerbell
 * command line. With MAC set, the NIC (when networking is on) gets that address.
 */
export function upstreamRunOptions(
  boot: { arch: QemuArch; kernel: string; initrd: string; netUser?: boolean },
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = log,
): MachineOptions {
  return {
    arch: boot.arch,
    kernel: boot.kernel,
    initrd: boot.initrd,
    append: tinkerbellCmdline(env, boot.arch, logger),
    uefi: true,
    cpus: 2,
    memoryMb: 2048,
    disk: { sizeGb: 10 },
    netUser: boot.netUser,
    mac: boot.netUser ? setting(env, 'MAC') : undefined,
  };
}
