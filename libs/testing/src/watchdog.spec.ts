/**
 * tools/jest/watchdog.js, the per-project guard of the test command: a project that hangs ends
 * with one line naming it and what it left running, and nothing it started outlives it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '@hook/process';

const root = resolve(__dirname, '../../..');
const WATCHDOG = join(root, 'tools/jest/watchdog.js');
jest.setTimeout(120_000);

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hook-watchdog-test-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The pid a fixture wrote. */
const fixturePid = (file: string) => Number(readFileSync(file, 'utf8'));

/** Whether a process still runs (a killed one may stay a zombie until init reaps it: that is gone). */
async function stillRuns(pid: number): Promise<boolean> {
  const state = () => (existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] : 'gone');
  for (let i = 0; i < 50 && !['Z', 'gone'].includes(state()); i++) await new Promise((r) => setTimeout(r, 100));
  return !['Z', 'gone'].includes(state());
}

/** A shell that ignores SIGTERM, started in a session of its own (out of the run's process group). */
const stubborn = (pidFile: string) => `setsid sh -c 'trap "" TERM; echo $$ > ${pidFile}; i=0; while [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done' &`;

describe('the test watchdog', () => {
  it('ends a Jest whose test timed out leaving a child that ignores SIGTERM: one line, exit 1, nothing left running', async () => {
    const pidFile = join(dir, 'child.pid');
    const config = JSON.stringify({ rootDir: join(root, 'libs/testing/test'), testMatch: ['**/hangs.fixture.js'], reporters: ['default', join(root, 'tools/jest/run-complete-reporter.js')], testEnvironment: 'node', transform: {} });
    const started = Date.now();
    const result = await run('node', [WATCHDOG, '--project', 'hangs-fixture', '--limit', '2', '--', join(root, 'node_modules/.bin/jest'), '--config', config, '--ci'], {
      env: { HOOK_FIXTURE_PID_FILE: pidFile, HOOK_TEST_EXIT_GRACE: '3' },
      allowFailure: true,
      timeoutMs: 100_000,
    });
    const child = fixturePid(pidFile);
    expect(result.exitCode).toBe(1);
    const lines = result.stderr.split('\n').filter((l) => l.startsWith('watchdog:'));
    expect(lines).toEqual([expect.stringMatching(/^watchdog: hangs-fixture: its tests completed but Jest did not exit within 3 s .*running: .*sh -c trap "" TERM/)]);
    expect(lines[0]).toContain(String(child));
    expect(await stillRuns(child)).toBe(false);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('ends a project over its time limit, and stops what it started even in a session of its own', async () => {
    const pidFile = join(dir, 'child.pid');
    const result = await run('node', [WATCHDOG, '--project', 'slow-fixture', '--limit', '0.05', '--', 'sh', '-c', `${stubborn(pidFile)} sleep 120`], { allowFailure: true, timeoutMs: 60_000 });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^watchdog: slow-fixture: did not finish within 0.05 min \(HOOK_TEST_TIME_LIMIT\); stopping it; running: /m);
    expect(await stillRuns(fixturePid(pidFile))).toBe(false);
  });

  it("keeps a passing project's exit code and stops what its tests left running, naming it", async () => {
    const pidFile = join(dir, 'child.pid');
    const result = await run('node', [WATCHDOG, '--project', 'leaky-fixture', '--', 'sh', '-c', `${stubborn(pidFile)} for i in 1 2 3 4 5 6 7 8 9 10; do [ -s ${pidFile} ] && exit 0; sleep 0.2; done; exit 3`], { allowFailure: true, timeoutMs: 60_000 });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/^watchdog: leaky-fixture: its tests left running: \d+ \(sh -c trap "" TERM/m);
    expect(await stillRuns(fixturePid(pidFile))).toBe(false);
  });
});
