/**
 * The boot tests' crash check and time bound (hookos.ts runBootTest), fed serial logs: a guest
 * that printed a crash fails its test with its console, whatever the test itself checked; a test
 * that runs out of time fails with its guests' consoles, before Jest's own timeout.
 */
import { type GuestConsole, runBootTest, watchForCrashes } from './hookos';

/** A guest's console as a boot test sees it; it has "exited" once its test is over. */
const guests: Array<{ hasExited: boolean }> = [];
function fakeGuest(output: string): GuestConsole {
  const guest = { output, hasExited: false, tail: (lines = 60) => `--- last ${lines} lines of the serial console ---\n${output.split('\n').slice(-lines).join('\n')}` };
  guests.push(guest);
  return guest;
}
afterEach(() => guests.forEach((guest) => (guest.hasExited = true)));

const CLEAN = '[    1.234] virtio_net virtio0 eth0: renamed\nhook: init: all services started\nHookOS hook:~# ';

describe('the crash check of boot tests', () => {
  it.each([
    ['an Oops', '[   22.100] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI'],
    ['a BUG', '[   10.000] BUG: kernel NULL pointer dereference, address: 0000000000000008'],
    ['a call trace', '[   10.000] Call Trace:'],
    ['a panic', '[   30.000] Kernel panic - not syncing: Fatal exception in interrupt'],
    ['a segfault', '[   40.000] dockerd[512]: segfault at 0 ip 000055d1 sp 00007ffd error 4 in dockerd'],
    ['a general protection fault', '[   40.000] traps: ntpd[300] general protection fault ip:7f0 sp:7ff error:0'],
  ])('fails a passing test whose guest printed %s, with the console', async (_name, line) => {
    watchForCrashes(fakeGuest(`${CLEAN}\n${line}\nmore output`));
    const outcome = runBootTest(async () => undefined, 10_000);
    await expect(outcome).rejects.toThrow(/^the guest crashed:\n {2}\S/);
    await expect(outcome).rejects.toThrow(line.trim());
    await expect(outcome).rejects.toThrow(/--- last 200 lines of the serial console ---[\s\S]*hook: init: all services started/);
  });

  it('passes a test whose guests printed no crash', async () => {
    watchForCrashes(fakeGuest(CLEAN));
    await expect(runBootTest(async () => undefined, 10_000)).resolves.toBeUndefined();
  });

  it("reports the crash rather than the test's own failure when both happened", async () => {
    watchForCrashes(fakeGuest(`${CLEAN}\nKernel panic - not syncing: VFS`));
    await expect(runBootTest(async () => Promise.reject(new Error('prompt did not appear')), 10_000)).rejects.toThrow(/the guest crashed:[\s\S]*Kernel panic/);
  });

  it('fails a test that runs out of time with the consoles of its guests', async () => {
    watchForCrashes(fakeGuest(`${CLEAN}\nhook: service hook-docker: started\nwaiting for the worker`));
    const never = () => new Promise<void>(() => undefined);
    await expect(runBootTest(never, 300)).rejects.toThrow(/^the boot test did not finish within 0 s\n--- last 80 lines of the serial console ---[\s\S]*waiting for the worker/);
  });
});
