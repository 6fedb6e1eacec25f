/**
 * Shared builds end to end: two clean clones of this repository's HEAD and the cache server on
 * loopback. The first clone builds hook-debian-amd64 (storing every task); the second restores
 * every task from the remote cache, byte for byte, with no Docker engine and no apt to use
 * (DOCKER_HOST points at a socket that does not exist, and apt-get, mmdebstrap and docker on
 * PATH are stand-ins that record the call and fail). Then one changed image folder in the second
 * clone misses exactly that image and the flavor.
 *
 * To save a few minutes, a clone's node_modules holds links to this checkout's packages (the
 * same lock file) instead of running npm ci (./clone.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { appendFile, chmod, mkdir, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { makeTempDir, run } from '@hook/process';
import { startCacheServer, type CacheServer } from './cache-server';
import { cloneWorkspace, headCommit } from './clone';
import { nxEntry } from './workspace-facts';

const root = resolve(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';
const CHANGED_IMAGE = 'hook-acpid';
const BUILD_TIMEOUT_MS = 40 * 60_000;
const STAND_INS = ['apt-get', 'apt', 'mmdebstrap', 'docker', 'dpkg-deb'];

jest.setTimeout(BUILD_TIMEOUT_MS + 15 * 60_000);

let server: CacheServer;
let work: string;
let changedImageRef: string | undefined;
beforeAll(async () => {
  server = await startCacheServer();
  work = await makeTempDir('two-clones');
}, 60_000);
afterAll(async () => {
  await server?.stop();
  // The only engine image this test makes is the changed image's new tag.
  if (changedImageRef) await run('docker', ['rmi', changedImageRef], { allowFailure: true });
  if (work) await rm(work, { recursive: true, force: true });
});

interface NxRun {
  exitCode: number;
  output: string;
  /** Task id to how Nx got it: '' (ran), 'local cache', 'remote cache', ... */
  tasks: Map<string, string>;
}

async function buildFlavor(dir: string, env: NodeJS.ProcessEnv): Promise<NxRun> {
  const result = await run('node', [nxEntry(dir), 'run', `${FLAVOR}:build`, '--outputStyle=static'], {
    cwd: dir,
    // zstd -9 instead of the release's -19: the cache behaves the same, each flavor build is
    // minutes shorter; the budget check is the boot tests' build's (the test command enforces it).
    // FORCE_COLOR=0: under the test command this runs inside an Nx task, which sets FORCE_COLOR,
    // and colored '> nx run' lines would hide every task from the parsing below.
    env: { ...server.nxEnv(), NX_DAEMON: 'false', NX_TUI: 'false', FORCE_COLOR: '0', HOOK_INITRAMFS_LEVEL: '9', HOOK_SIZE_BUDGET: 'warn', ...env },
    allowFailure: true,
    timeoutMs: BUILD_TIMEOUT_MS,
  });
  // eslint-disable-next-line no-control-regex
  const output = `${result.stdout}\n${result.stderr}`.replace(/\u001b\[[0-9;]*m/g, '');
  const tasks = new Map<string, string>();
  for (const match of output.matchAll(/^> nx run (\S+)(?:\s+\[([^\]]+)\])?/gm)) tasks.set(match[1], match[2] ?? '');
  return { exitCode: result.exitCode, output, tasks };
}

/** What a failed clone build said: Nx's list of failed tasks, every error line, and the end of its output. */
function failureOf(label: string, run: NxRun): Error {
  const failed = /Failed tasks:\n([\s\S]*?)(\n\n|$)/.exec(run.output)?.[1] ?? '(none listed)';
  const errors = run.output.split('\n').filter((line) => /error|ERR!|Interrupted|signal|killed/i.test(line)).slice(0, 40);
  return new Error(`${label} exited with ${run.exitCode}; failed tasks:\n${failed}\nerror lines:\n${errors.join('\n')}\nits output ends:\n${run.output.slice(-3000)}`);
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every file under dist/ with its sha256. */
async function distDigests(dir: string): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  const walk = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else digests[relative(dir, full)] = entry.isSymbolicLink() ? `link:${await readlink(full)}` : await sha256(full);
    }
  };
  await walk(join(dir, 'dist'));
  return digests;
}

describe(`two clean clones sharing ${FLAVOR} through the remote cache`, () => {
  let first: string;
  let second: string;
  let firstRun: NxRun;

  it('the first clone builds every task and stores it', async () => {
    first = await cloneWorkspace(root, join(work, 'first'));
    firstRun = await buildFlavor(first, {});
    if (firstRun.exitCode !== 0) throw failureOf("the first clone's build", firstRun);
    expect(firstRun.tasks.size).toBeGreaterThan(5);
    expect([...firstRun.tasks.values()].every((how) => how === '')).toBe(true);
    // One entry per task, each with the sha256 of its upload beside it.
    expect((await readdir(server.entriesDir)).filter((name) => !name.endsWith('.sha256')).length).toBe(firstRun.tasks.size);
  });

  it('the second clone restores every task from the remote cache, byte-identical, with no Docker and no apt', async () => {
    expect(firstRun?.exitCode).toBe(0);
    // The same commit as the first: HEAD may have moved meanwhile.
    second = await cloneWorkspace(root, join(work, 'second'), await headCommit(first));
    const standIns = join(work, 'stand-ins');
    const calls = join(work, 'stand-in-calls.log');
    await mkdir(standIns);
    for (const command of STAND_INS) {
      await writeFile(join(standIns, command), `#!/bin/sh\necho "${command} $*" >> '${calls}'\nexit 1\n`);
      await chmod(join(standIns, command), 0o755);
    }
    const secondRun = await buildFlavor(second, {
      DOCKER_HOST: `unix://${join(work, 'no-docker-here.sock')}`,
      PATH: `${standIns}:${process.env.PATH}`,
    });
    if (secondRun.exitCode !== 0) throw failureOf("the second clone's build", secondRun);
    expect([...secondRun.tasks.keys()].sort()).toEqual([...firstRun.tasks.keys()].sort());
    expect([...secondRun.tasks.entries()].filter(([, how]) => how !== 'remote cache')).toEqual([]);
    expect(existsSync(calls) ? await readFile(calls, 'utf8') : '').toBe('');
    expect(await distDigests(second)).toEqual(await distDigests(first));
  });

  it(`a changed ${CHANGED_IMAGE} folder misses exactly that image and the flavor`, async () => {
    expect(second).toBeDefined();
    await appendFile(join(second, 'images', CHANGED_IMAGE, 'Dockerfile'), '# changed by the two-clone test\n');
    const changed = await buildFlavor(second, {});
    const image = JSON.parse(await readFile(join(second, 'dist/images', CHANGED_IMAGE, 'amd64/image.json'), 'utf8')) as { ref: string };
    changedImageRef = image.ref;
    if (changed.exitCode !== 0) throw failureOf("the changed clone's build", changed);
    const missed = [...changed.tasks.entries()].filter(([, how]) => !/cache/.test(how)).map(([id]) => id).sort();
    expect(missed).toEqual([`${CHANGED_IMAGE}:build-amd64`, `${FLAVOR}:build`].sort());
  });
});
