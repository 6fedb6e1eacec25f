/**
 * `./hook run hook-debian-amd64` as a user types it in a terminal, with Nx's own output
 * defaults (NX_TUI not set): a pseudo-terminal from util-linux's `script`, keys typed into it.
 * The console must be the terminal itself: the guest's shell answers typed commands at once,
 * Ctrl-A X ends QEMU and hook, and the kernel does not oops (2 vCPUs under TCG).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, spawnFilter } from '@hook/process';
import { crashLines, flavorBootFiles } from './hookos';

const WORKSPACE = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';
const kernelRelease = (JSON.parse(readFileSync(join(WORKSPACE, 'dist/kernels', FLAVOR, 'kernel.json'), 'utf8')) as { release: string }).release;
const SHELL_TIMEOUT_MS = 6 * 60 * 1000;

jest.setTimeout(SHELL_TIMEOUT_MS + 120000);

/** The environment of a user's shell: none of the outer Nx run's task variables, no NX_TUI. */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NX_') && name !== 'JEST_WORKER_ID'));
}

describe('hook run in a terminal', () => {
  let terminal: Awaited<ReturnType<typeof spawnFilter>> | undefined;
  let text = '';
  const sizeReport = () => readFileSync(flavorBootFiles(WORKSPACE, FLAVOR).sizeReport, 'utf8');

  // hook run builds the development level into dist/hook; the suites after this one boot the
  // release build, which `hook build` restores from Nx's cache.
  afterAll(async () => {
    const restored = await run('./hook', ['build', FLAVOR], { cwd: WORKSPACE, env: userEnv(), allowFailure: true, timeoutMs: 600_000 });
    expect(restored.exitCode).toBe(0);
    expect(sizeReport()).toContain('zstd -19 --long=27');
  }, 660_000);

  afterEach(async () => {
    // Closing the terminal hangs up hook, which stops QEMU and removes its files.
    if (!terminal) return;
    terminal.stdin.end();
    await Promise.race([terminal.done.catch(() => undefined), sleep(20000, undefined, { ref: false })]);
    terminal = undefined;
  });

  async function waitFor(pattern: RegExp, from: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(text.slice(from));
      if (match) return from + match.index + match[0].length;
      if (Date.now() > deadline) throw new Error(`${pattern} did not appear within ${timeoutMs / 1000} s; the terminal showed:\n${text.split('\n').slice(-60).join('\n')}`);
      await sleep(200);
    }
  }

  it('gives the serial console to the terminal: a typed command answers, Ctrl-A X quits, no Oops', async () => {
    const started = Date.now();
    terminal = await spawnFilter('script', ['-qfec', `./hook run ${FLAVOR}`, '/dev/null'], { cwd: WORKSPACE, env: { ...userEnv(), TERM: 'xterm' } });
    terminal.stdout.setEncoding('utf8');
    terminal.stdout.on('data', (chunk: string) => (text += chunk.replace(/\r/g, '')));
    let at = await waitFor(/serial console follows; quit with Ctrl-A X/, 0, SHELL_TIMEOUT_MS);
    const booted = Date.now();
    at = await waitFor(/HookOS \S+:\S*# /, at, SHELL_TIMEOUT_MS);
    console.log(`hook run: Nx build step ${((booted - started) / 1000).toFixed(0)} s, QEMU start to the root shell ${((Date.now() - booted) / 1000).toFixed(0)} s`);
    // The getty has no login prompt to answer (root shell, as upstream's INSECURE=true): Enter, then a command.
    terminal.stdin.write('\r');
    at = await waitFor(/HookOS \S+:\S*# /, at, 30000);
    terminal.stdin.write('uname -r\r');
    at = await waitFor(new RegExp(`\\n${kernelRelease.replace(/[.+]/g, '\\$&')}\\n`), at, 30000);
    terminal.stdin.write('\x01x');
    const ended = await Promise.race([terminal.done.then(() => true), sleep(20000, false, { ref: false })]);
    if (!ended) throw new Error(`hook did not end within 20 s of Ctrl-A X:\n${text.slice(-2000)}`);
    terminal = undefined;
    expect(text).toContain('QEMU: Terminated');
    expect(crashLines(text)).toEqual([]);
    // hook run builds (and boots) the development level, not the release bytes.
    expect(sizeReport()).toContain('zstd -9 --long=27');
  });
});
