/**
 * The least memory HookOS works in (issue 23), opt-in (HOOK_TEST_MEMORY_FLOOR=yes): the release
 * hook-debian-amd64 booted with WORKER_FLOOR_MB reaches a running worker (the stand-in, pulled
 * from a registry in a test namespace), and with ACTION_FLOOR_MB it also pulls and runs a 200 MB
 * action image (one layer that does not compress). The floors are what was measured (README,
 * "Memory"); HOOK_TEST_MEMORY_MB boots both at another size, to measure them again. Always run:
 * with far too little memory the console says so in one line.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@hook/process';
import type { GuestSession } from '@hook/qemu';
import { startRegistry } from '@hook/testing';
import { buildStandInWorker } from '@hook/worker';
import { TEST_MAC, bootHookOs, bootTest, guestCommand, loginOnConsole } from './hookos';
import { createNetns } from './netns';
import { OPEN_REGISTRY, type WorkerNetwork, startWorkerNetwork } from './worker-net';
import { setting } from '@hook/settings';

/**
 * Measured on the release initramfs (README, "Memory"), in steps of 64 MiB: 640 MiB cannot unpack
 * it (the kernel says "Initramfs unpacking failed: write error"), 704 runs the worker; at 896 the
 * pull of the 200 MB action fails ("unexpected EOF"), 960 pulls and runs it.
 */
export const WORKER_FLOOR_MB = 704;
export const ACTION_FLOOR_MB = 960;
const ACTION_LAYER_MB = 200;

const WORKSPACE = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';
const WORKER = `${OPEN_REGISTRY}/hook-test/standin:memory`;
const ACTION = `${OPEN_REGISTRY}/hook-test/action-200mb:memory`;
const HOST = 'nsenter -t 1 -m --';
const enabled = setting(process.env, 'HOOK_TEST_MEMORY_FLOOR');
const override = setting(process.env, 'HOOK_TEST_MEMORY_MB');

const describeFloor = enabled ? describe : describe.skip;
if (!enabled) console.log('memory floor boots skipped: set HOOK_TEST_MEMORY_FLOOR=yes (hook-debian-amd64 built)');

let work: string;
let registryStorage: string;

describe('HookOS with too little memory (hook-debian-amd64, QEMU TCG)', () => {
  // 640 MiB: the kernel unpacks part of the initramfs, /init among it (with 512 the kernel finds
  // no /init and panics: "VFS: Unable to mount root fs").
  bootTest('640 MiB: the console says that the kernel could not unpack HookOS, and why, in one line', async () => {
    const netns = await createNetns();
    try {
      const session = await bootHookOs({ workspaceRoot: WORKSPACE, flavorId: FLAVOR, name: 'memory-too-little', memoryMb: 640, network: { kind: 'user', netns: netns.name } });
      try {
        const said = await session.waitFor(/^hook: init: .*$/m, 3 * 60 * 1000);
        expect(said[0]).toMatch(/^hook: init: the kernel could not unpack all of HookOS \(Initramfs unpacking failed: .+\): too little memory for this HookOS \(hook-debian-amd64 needs 704 MiB\); starting an emergency shell$/);
        expect(session.output).not.toContain('Read-only file system');
      } finally {
        await session.close();
      }
    } finally {
      await netns.dispose();
    }
  });
});

describeFloor(`HookOS at its memory floor (hook-debian-amd64, QEMU TCG; opt-in: HOOK_TEST_MEMORY_FLOOR=yes)`, () => {
  let network: WorkerNetwork | undefined;
  let session: GuestSession | undefined;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'hook-memory-e2e-'));
    await buildStandInWorker({ ref: WORKER, console: true });
    // The action: BusyBox and 200 MB of random bytes; it reads them all when it runs.
    const context = join(work, 'action');
    mkdirSync(context);
    copyFileSync('/bin/busybox', join(context, 'busybox'));
    writeFileSync(join(context, 'layer'), randomBytes(ACTION_LAYER_MB * 1024 * 1024));
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY layer /layer\nENTRYPOINT ["/bin/busybox"]\n');
    await run('docker', ['build', '-q', '-t', ACTION, context], { timeoutMs: 180_000 });
    await rm(context, { recursive: true });
    const loopback = await startRegistry({ startTimeoutMs: 40_000 });
    try {
      for (const image of [WORKER, ACTION]) {
        const onLoopback = image.replace(OPEN_REGISTRY, loopback.host);
        await run('docker', ['tag', image, onLoopback]);
        await run('docker', ['push', onLoopback], { timeoutMs: 180_000 });
        await run('docker', ['rmi', onLoopback], { allowFailure: true });
      }
      registryStorage = join(work, 'registry');
      await run('cp', ['-a', loopback.storageDir, registryStorage]);
    } finally {
      await loopback.stop();
    }
  }, 420_000);

  afterAll(async () => {
    await run('docker', ['rmi', WORKER, ACTION], { allowFailure: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  afterEach(async () => {
    await session?.close();
    await network?.dispose();
    session = undefined;
    network = undefined;
  });

  async function bootWithWorker(memoryMb: number, name: string): Promise<GuestSession> {
    network = await startWorkerNetwork({ registryStorage });
    session = await bootHookOs({
      workspaceRoot: WORKSPACE,
      flavorId: FLAVOR,
      name,
      memoryMb,
      cmdline: `tink_worker_image=${WORKER} insecure_registries=${OPEN_REGISTRY} worker_id=${TEST_MAC} hw_addr=${TEST_MAC} tinkerbell_tls=false`,
      network: { kind: 'tap', netns: network.netns.name, tap: network.tap },
    });
    // Too little memory shows early: say so at once rather than waiting out the boot.
    const seen = await session.waitFor(/STANDIN ready|Initramfs unpacking failed.*|Out of memory: .*/, 8 * 60 * 1000);
    if (seen[0] !== 'STANDIN ready') throw new Error(`${memoryMb} MiB is too little: ${seen[0]}`);
    return session;
  }

  bootTest(`reaches a running worker with ${override ?? WORKER_FLOOR_MB} MiB`, async () => {
    await bootWithWorker(override ?? WORKER_FLOOR_MB, 'memory-worker');
  });

  bootTest(`pulls and runs a ${ACTION_LAYER_MB} MB action image with ${override ?? ACTION_FLOOR_MB} MiB`, async () => {
    const booted = await bootWithWorker(override ?? ACTION_FLOOR_MB, 'memory-action');
    await loginOnConsole(booted);
    const docker = `${HOST} runc --root /run/runc exec hook-docker docker`;
    await guestCommand(booted, `${docker} pull -q ${ACTION}`, 300_000);
    const bytes = await guestCommand(booted, `${docker} run --rm ${ACTION} wc -c /layer`, 300_000);
    expect(bytes).toMatch(new RegExp(`^\\s*${ACTION_LAYER_MB * 1024 * 1024}\\s+/layer`, 'm'));
    // What was left: an operator sizing machines reads this.
    console.log(`memory floor, ${override ?? ACTION_FLOOR_MB} MiB after the action ran:\n${await guestCommand(booted, `${HOST} sh -c 'free -m; df -m /run'`)}`);
  });
});
