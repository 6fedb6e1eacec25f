/**
 * HookOS netbooted as a Tinkerbell machine boots it: the NIC's iPXE (Debian's ipxe-qemu ROM,
 * SeaBIOS or OVMF) runs Smee's script from QEMU's TFTP and fetches the kernel and initramfs over
 * HTTP from a server on loopback (@hook/qemu netboot). The console is ttyS1, as Smee's script
 * sets it. QEMU's user network is restricted: the guest reaches that server and nothing else.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GuestSession, describeDownload, prepareNetboot, type Netboot, type ServedRequest } from '@hook/qemu';
import { TEST_MAC, flavorBootFiles, verifyFlavorFiles, watchForCrashes } from './hookos';

export interface NetbootOptions {
  workspaceRoot: string;
  flavorId: string;
  firmware: 'bios' | 'uefi';
  /** Name of the console log under dist/boot-test/. */
  name: string;
  /** TINK_* variables, as `hook run` takes them. */
  env?: NodeJS.ProcessEnv;
  /** Serve this path as the initramfs (e.g. one that does not exist). */
  initrdSource?: string;
  transformScript?: (script: string) => string;
  maxRunMs?: number;
}

export interface NetbootedGuest {
  session: GuestSession;
  netboot: Netboot;
  /** Stops QEMU and the HTTP server, removes the TFTP folder. */
  close(): Promise<void>;
}

/** Starts the HTTP server and QEMU (one vCPU, 2 GB, -no-reboot); close() ends both. */
export async function netbootHookOs(options: NetbootOptions): Promise<NetbootedGuest> {
  await verifyFlavorFiles(options.workspaceRoot, options.flavorId);
  const files = flavorBootFiles(options.workspaceRoot, options.flavorId);
  const logDir = join(options.workspaceRoot, 'dist', 'boot-test');
  mkdirSync(logDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), 'hook-netboot-'));
  let netboot: Netboot | undefined;
  try {
    netboot = await prepareNetboot({
      arch: files.arch,
      kernel: files.kernel,
      initrd: files.initrd,
      env: options.env ?? {},
      workDir,
      mac: TEST_MAC,
      initrdSource: options.initrdSource,
      transformScript: options.transformScript,
    });
    const session = watchForCrashes(await GuestSession.start({
      arch: files.arch,
      uefi: options.firmware === 'uefi',
      // One vCPU: multi-threaded TCG oopses now and then (see hookos.ts).
      cpus: 1,
      memoryMb: 2048,
      ...netboot.machine,
      consolePort: 1,
      logFile: join(logDir, `${options.name}.serial.log`),
      extraArgs: ['-no-reboot'],
      maxRunMs: options.maxRunMs,
    }));
    const server = netboot.server;
    return {
      session,
      netboot,
      close: async () => {
        await session.close();
        await server.close();
        await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await netboot?.server.close();
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Waits until iPXE has fetched the kernel and the initramfs (200 each). Fails at once on a
 * refused request, or when nothing came in time (a broken script, no TFTP): the message has
 * what the server saw and the serial console's tail.
 */
export async function expectNetbootDownloads(guest: NetbootedGuest, timeoutMs: number): Promise<ServedRequest[]> {
  const { session, netboot } = guest;
  const wanted = [`/${netboot.kernelName}`, `/${netboot.initrdName}`];
  const deadline = Date.now() + timeoutMs;
  const seen = () => netboot.server.requests.map((r) => `  ${r.method} ${r.path}: ${r.status}, ${r.bytes} bytes`).join('\n') || '  (no request)';
  for (;;) {
    const refused = netboot.server.requests.find((r) => r.status !== 200);
    if (refused) throw new Error(`iPXE asked for ${refused.path} and got ${refused.status}; the HTTP server saw:\n${seen()}\n${session.tail()}`);
    const fetched = wanted.map((path) => netboot.server.requests.find((r) => r.path === path));
    if (fetched.every(Boolean)) return fetched as ServedRequest[];
    if (session.hasExited) {
      const qemuSaid = session.result?.stderr.trim().split('\n').slice(-3).join('\n') || `exit code ${session.result?.exitCode}`;
      throw new Error(`QEMU exited before iPXE fetched ${wanted.join(' and ')} (${qemuSaid}); the HTTP server saw:\n${seen()}\n${session.tail()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`iPXE did not fetch ${wanted.join(' and ')} within ${Math.round(timeoutMs / 1000)} s (a broken iPXE script, or no TFTP); the HTTP server saw:\n${seen()}\n${session.tail()}`);
    }
    await sleep(200, undefined, { ref: false });
  }
}

export { describeDownload };
