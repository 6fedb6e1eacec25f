/**
 * Integration: `hook run <flavor>` as a user runs it, on a pseudo-terminal (util-linux `script`),
 * booting a small flavor workspace whose dist/hook holds a Debian kernel and a tiny busybox
 * initramfs (libs/qemu testing fixtures) under TCG with UEFI, as upstream's machine does.
 * Debian packages: qemu-system-x86, ovmf, busybox-static, util-linux (script).
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeWorkspace } from '@hook/inventory/testing';
import { writeSha256Sums } from '@hook/layout';
import { spawnFilter, shellQuote } from '@hook/process';
import { CMDLINE_PREFIX, debianTestKernel, isRunning, writeTinyInitramfs } from './testing';

jest.setTimeout(300_000);

const REPO = join(__dirname, '../../..');
const FLAVOR = 'run-test-amd64';
const MARKER = 'HOOK-RUN-TEST-READY';
const MAC = '52:54:00:12:34:56';

let work: string;
let root: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hook-run-spec-'));
  root = makeWorkspace({
    [`kernel/${FLAVOR}/kernel.yaml`]: 'METHOD: debian\nARCH: x86_64\nDEBIAN_SUITE: trixie\n',
    [`flavors/${FLAVOR}/flavor.yaml`]: 'ARCH: x86_64\nTAG: [test]\n',
  });
  await mkdir(join(root, 'dist/hook'), { recursive: true });
  // OUTPUT_ID of a flavor with its own kernel is the flavor's id.
  await copyFile(await debianTestKernel(), join(root, `dist/hook/vmlinuz-${FLAVOR}`));
  await writeTinyInitramfs(join(root, `dist/hook/initramfs-${FLAVOR}`), { marker: MARKER, powerOff: false });
  // What a build writes beside them: hook run checks the files against it.
  await writeSha256Sums(join(root, `dist/hook/SHA256SUMS-${FLAVOR}`), [join(root, `dist/hook/vmlinuz-${FLAVOR}`), join(root, `dist/hook/initramfs-${FLAVOR}`)]);
}, 300_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

/** `hook run` on a pseudo-terminal: its terminal output as it comes, keys to type, its pid. */
async function startRun(name: string) {
  const temp = join(work, name);
  await mkdir(temp);
  const pidFile = join(work, `${name}.pid`);
  const command = ['node', '-r', '@swc-node/register', 'libs/qemu/test/run-flavor.ts', root, FLAVOR, pidFile].map(shellQuote).join(' ');
  const env = {
    ...process.env,
    SWC_NODE_PROJECT: 'tsconfig.base.json',
    TMPDIR: temp,
    HOOK_QEMU_ACCEL: 'tcg',
    TINK_SERVER: '10.0.2.2',
    TINK_WORKER_IMAGE: 'registry.test/tink-worker:v1',
    MAC,
  };
  const child = await spawnFilter('script', ['-qefc', command, '/dev/null'], { cwd: REPO, env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const exit = child.done.then(
    () => 0,
    (error: { result?: { exitCode: number } }) => error.result?.exitCode ?? 1,
  );
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  const waitFor = async (text: string, timeoutMs: number) => {
    for (const started = Date.now(); !output.includes(text); await sleep(200)) {
      if (exited || Date.now() - started > timeoutMs) {
        throw new Error(`no '${text}' on the terminal (${exited ? 'hook run ended' : `after ${timeoutMs} ms`}):\n${output.slice(-3000)}`);
      }
    }
  };
  return { temp, pidFile, child, exit, waitFor, output: () => output };
}

describe('hook run (integration: QEMU TCG + UEFI on a pseudo-terminal)', () => {
  it('shows the serial console on the terminal, with the Tinkerbell command line, and Ctrl-A X quits', async () => {
    const session = await startRun('interactive');
    await session.waitFor(MARKER, 180_000);
    const cmdline = session.output().split(CMDLINE_PREFIX)[1].split('\n')[0];
    expect(cmdline).toContain('tink_worker_image=registry.test/tink-worker:v1');
    expect(cmdline).toContain(`grpc_authority=10.0.2.2:42113 syslog_host=10.0.2.2 worker_id=${MAC} hw_addr=${MAC}`);
    expect(cmdline).toContain('console=ttyS0');
    // Keys typed on the terminal reach QEMU (the console is multiplexed with its monitor).
    session.child.stdin.write('\x01x');
    expect(await session.exit).toBe(0);
    expect(await readdir(session.temp)).toEqual([]);
  });

  it('removes its temporary directory (UEFI variables, 10 G scratch disk) and stops QEMU when interrupted', async () => {
    const session = await startRun('interrupted');
    await session.waitFor(MARKER, 180_000);
    const [workDir] = await readdir(session.temp);
    expect(workDir).toMatch(/^hook-qemu-/);
    expect((await readdir(join(session.temp, workDir))).sort()).toEqual(['qemu.pid', 'scratch-disk.raw', 'uefi-vars.fd']);
    const qemuPid = Number(await readFile(join(session.temp, workDir, 'qemu.pid'), 'utf8'));
    process.kill(Number(await readFile(session.pidFile, 'utf8')), 'SIGTERM');
    expect(await session.exit).not.toBe(0);
    expect(session.output()).toContain(`${FLAVOR}: QEMU stopped on SIGTERM; its temporary files are removed`);
    expect(await readdir(session.temp)).toEqual([]);
    expect(isRunning(qemuPid)).toBe(false);
  });
});
