/**
 * A QEMU machine that boots HookOS the way a Tinkerbell data centre does: no -kernel; the NIC's
 * iPXE (Debian's ipxe-qemu ROM, BIOS or UEFI) gets Smee's script from QEMU's TFTP server and
 * fetches the kernel and initramfs over HTTP from a server on this machine's loopback. The guest
 * network is QEMU's restricted user network: the guest reaches that server through one explicit
 * forward and nothing else, so no guest packet leaves this machine.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '@hook/log';
import type { MachineOptions, QemuArch } from './command';
import { smeeHookScript, smeeKernelParams, smeeValuesFromEnv, type SmeeScriptValues } from './ipxe-script';
import { startNetbootServer, type NetbootServer, type ServedRequest } from './netboot-server';

/** An address in QEMU's user network (10.0.2.0/24) that nothing else uses: the HTTP server's, for the guest. */
export const NETBOOT_HTTP_ADDRESS = '10.0.2.100';
/** The file QEMU's TFTP server offers in its DHCP answer. */
export const NETBOOT_SCRIPT_NAME = 'hook.ipxe';
/** The NIC's MAC when MAC is not set (worker_id and hw_addr carry it). */
export const NETBOOT_DEFAULT_MAC = '52:54:00:12:34:56';

export interface NetbootOptions {
  arch: QemuArch;
  /** The flavor's files, served under their own names. */
  kernel: string;
  initrd: string;
  env: NodeJS.ProcessEnv;
  /** Temporary directory of the run (TFTP root, the relay); the caller removes it. */
  workDir: string;
  mac?: string;
  /** Tests: serve this path for the initrd's name instead (e.g. one that does not exist). */
  initrdSource?: string;
  /** Tests: change the script before it is offered (e.g. break it). */
  transformScript?: (script: string) => string;
  onRequest?: (request: ServedRequest) => void;
}

export interface Netboot {
  /** Merge into the machine: user network with TFTP and the forward, the NIC's MAC. */
  machine: Pick<MachineOptions, 'netUser' | 'netboot' | 'guestForwards' | 'mac'>;
  server: NetbootServer;
  script: string;
  values: SmeeScriptValues;
  /** What the kernel's /proc/cmdline carries after iPXE (its variables filled in). */
  kernelParams: string;
  kernelName: string;
  initrdName: string;
}

/** Starts the HTTP server and writes the TFTP root and relay; close `server` when done. */
export async function prepareNetboot(options: NetbootOptions): Promise<Netboot> {
  if (options.arch !== 'x86_64') throw new UserError(`netboot in QEMU follows Smee's x86 script (console=ttyS1); ${options.arch} flavors boot with hook run without NETBOOT`);
  const mac = (options.mac ?? NETBOOT_DEFAULT_MAC).toLowerCase();
  const kernelName = basename(options.kernel);
  const initrdName = basename(options.initrd);
  const values = {
    ...smeeValuesFromEnv(options.env, { arch: options.arch, downloadUrl: `http://${NETBOOT_HTTP_ADDRESS}`, kernelName, initrdName, mac }),
    ipxeWithoutNslookup: true, // Debian's ipxe-qemu ROM
  };
  const script = (options.transformScript ?? ((s: string) => s))(smeeHookScript(values));
  // TFTP offers this folder only (not the run's disk or UEFI variables).
  const tftpDir = join(options.workDir, 'tftp');
  await mkdir(tftpDir, { recursive: true });
  await writeFile(join(tftpDir, NETBOOT_SCRIPT_NAME), script);
  const server = await startNetbootServer({
    host: '127.0.0.1',
    port: 0,
    texts: { [`/${NETBOOT_SCRIPT_NAME}`]: script },
    files: { [`/${kernelName}`]: options.kernel, [`/${initrdName}`]: options.initrdSource ?? options.initrd },
    onRequest: options.onRequest,
  });
  // QEMU's guestfwd to a host port keeps one connection for the VM's life; a command per
  // connection (this relay) serves every request iPXE makes.
  const relay = join(options.workDir, 'relay.js');
  await writeFile(relay, RELAY_SOURCE);
  const command = `${process.execPath} ${relay} ${server.port}`;
  if (/[,\s]/.test(options.workDir) || process.execPath.includes(',')) {
    await server.close();
    throw new UserError(`netboot needs a temporary directory without commas or spaces in its path (QEMU's option syntax), not ${options.workDir}: set TMPDIR`);
  }
  return {
    machine: {
      netUser: true,
      netboot: { tftpDir, bootfile: NETBOOT_SCRIPT_NAME },
      guestForwards: [{ address: NETBOOT_HTTP_ADDRESS, port: 80, command }],
      mac,
    },
    server,
    script,
    values,
    kernelParams: smeeKernelParams(values),
    kernelName,
    initrdName,
  };
}

/** stdin/stdout (QEMU's side of one guest connection) <-> the HTTP server on loopback. */
const RELAY_SOURCE = `'use strict';
const socket = require('node:net').connect(Number(process.argv[2]), '127.0.0.1');
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('error', () => process.exit(1));
// The server's answer is all written out before the relay ends.
process.stdout.on('finish', () => process.exit(0));
process.stdout.on('error', () => process.exit(1));
process.stdin.on('end', () => socket.end());
`;
