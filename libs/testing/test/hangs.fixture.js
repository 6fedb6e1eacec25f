// A test that starts a child ignoring SIGTERM and then times out (run by watchdog.spec.ts through a
// real Jest, never by the test command itself: it does not match *.spec.ts). The child holds
// Jest's pipe, so Jest would wait for ever after its run completed, as a stuck CI once did.
const { spawn } = require('node:child_process');
const { writeFileSync } = require('node:fs');

test('starts a child that ignores SIGTERM, then times out', async () => {
  const child = spawn('sh', ['-c', 'trap "" TERM; i=0; while [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  writeFileSync(process.env.HOOK_FIXTURE_PID_FILE, String(child.pid));
  await new Promise((resolve) => child.on('exit', resolve));
}, 1500);
