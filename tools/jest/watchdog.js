#!/usr/bin/env node
// Runs one project's Jest (the command after the options) so that it cannot hang the test
// command: the command gets a session of its own and a token in its environment that every
// process it starts inherits. The run ends, with one line naming the project and what it left
// running, when
//   - the project takes longer than its limit (HOOK_TEST_TIME_LIMIT, minutes), or
//   - Jest does not exit within HOOK_TEST_EXIT_GRACE seconds after its run completed (a child a
//     test left running holds a pipe open: Jest then waits for ever),
// and in every case nothing the tests started outlives the run: whatever still carries the
// token when Jest has exited is stopped (SIGTERM, then SIGKILL) and named.
//
//   node tools/jest/watchdog.js [--project NAME] [--limit MINUTES] -- jest [args...]
//
// A test tool that stands beside summary-reporter.js, not library code: it runs before any
// TypeScript and must not depend on the code under test.
'use strict';
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const TOKEN_VARIABLE = 'HOOK_TEST_WATCHDOG_TOKEN';
const DONE_FILE_VARIABLE = 'HOOK_TEST_DONE_FILE';

function parseArgs(argv) {
  const options = { project: path.basename(process.cwd()), limitMinutes: Number(process.env.HOOK_TEST_TIME_LIMIT || 25) };
  let i = 0;
  for (; i < argv.length; i++) {
    if (argv[i] === '--project') options.project = argv[++i];
    else if (argv[i] === '--limit') options.limitMinutes = Number(argv[++i]);
    else if (argv[i] === '--') { i++; break; }
    else break;
  }
  options.command = argv.slice(i);
  if (options.command.length === 0 || !(options.limitMinutes > 0)) {
    console.error('watchdog: usage: watchdog.js [--project NAME] [--limit MINUTES] -- COMMAND [ARGS...] (HOOK_TEST_TIME_LIMIT must be a number of minutes)');
    process.exit(2);
  }
  options.exitGraceSeconds = Number(process.env.HOOK_TEST_EXIT_GRACE || 30);
  return options;
}

/** Processes (other than this one) whose environment carries the token: what the run started. */
function processesWithToken(token) {
  const needle = Buffer.from(`${TOKEN_VARIABLE}=${token}\0`);
  const found = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (!fs.readFileSync(`/proc/${name}/environ`).includes(needle)) continue;
      const command = fs.readFileSync(`/proc/${name}/cmdline`).toString().split('\0').filter(Boolean).join(' ');
      const state = fs.readFileSync(`/proc/${name}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      if (state !== 'Z') found.push({ pid: Number(name), command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function describe(processes) {
  return processes.map((p) => `${p.pid} (${p.command.length > 100 ? `${p.command.slice(0, 97)}...` : p.command})`).join(', ');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM to everything carrying the token, SIGKILL to what is left after 5 s. */
async function stopAll(token, groupId) {
  const signalAll = (signal) => {
    try { process.kill(-groupId, signal); } catch { /* the group is gone */ }
    for (const p of processesWithToken(token)) {
      try { process.kill(p.pid, signal); } catch { /* gone */ }
    }
  };
  signalAll('SIGTERM');
  for (let i = 0; i < 50 && processesWithToken(token).length > 0; i++) await sleep(100);
  signalAll('SIGKILL');
  for (let i = 0; i < 20 && processesWithToken(token).length > 0; i++) await sleep(100);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const token = randomBytes(8).toString('hex');
  const doneFile = path.join(require('node:os').tmpdir(), `hook-test-done-${token}`);
  const child = spawn(options.command[0], options.command.slice(1), {
    stdio: 'inherit',
    detached: true,
    env: { ...process.env, [TOKEN_VARIABLE]: token, [DONE_FILE_VARIABLE]: doneFile },
  });
  let exited = false;
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => { exited = true; resolve(code ?? (signal ? 128 + (require('node:os').constants.signals[signal] || 1) : 1)); });
    child.on('error', (error) => { exited = true; console.error(`watchdog: ${options.project}: cannot start ${options.command[0]}: ${error.message}`); resolve(127); });
  });
  // The test command stopped (Ctrl-C, CI cancel): stop the whole run with it.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, async () => { await stopAll(token, child.pid); process.exit(130); });
  }

  const deadline = Date.now() + options.limitMinutes * 60_000;
  let verdict;
  while (!exited) {
    await Promise.race([exit, sleep(1000)]);
    if (exited) break;
    if (Date.now() > deadline) {
      verdict = `did not finish within ${options.limitMinutes} min (HOOK_TEST_TIME_LIMIT)`;
      break;
    }
    const done = fs.statSync(doneFile, { throwIfNoEntry: false });
    if (done && Date.now() - done.mtimeMs > options.exitGraceSeconds * 1000) {
      verdict = `its tests completed but Jest did not exit within ${options.exitGraceSeconds} s (a process a test started holds it)`;
      break;
    }
  }
  let code;
  if (verdict) {
    const left = processesWithToken(token).filter((p) => p.pid !== child.pid);
    console.error(`watchdog: ${options.project}: ${verdict}; stopping it${left.length ? `; running: ${describe(left)}` : ''}`);
    await stopAll(token, child.pid);
    code = 1;
  } else {
    code = await exit;
    const left = processesWithToken(token);
    if (left.length > 0) {
      console.error(`watchdog: ${options.project}: its tests left running: ${describe(left)}; stopping them`);
      await stopAll(token, child.pid);
    }
  }
  fs.rmSync(doneFile, { force: true });
  process.exit(code);
}

main();
