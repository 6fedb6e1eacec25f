/**
 * A stand-in build for temp.spec.ts, run as its own process:
 * - `interrupt <staging>`: makes a temp folder and a staging folder, prints the temp folder and
 *   waits on `sleep` (the spec signals it);
 * - `foreground`: runForeground of a shell that exits 7 on SIGTERM (and by itself after 2 min, so
 *   nothing can outlive a broken test for long); prints the result.
 */
import { mkdirSync } from 'node:fs';
import { installInterruptHandler, makeTempDir, removeOnInterrupt, run, runForeground } from '@hook/process';

async function main(mode: string, staging?: string): Promise<void> {
  if (mode === 'interrupt' && staging) {
    installInterruptHandler();
    const dir = await makeTempDir('test');
    mkdirSync(staging);
    removeOnInterrupt(staging);
    const sleeping = run('sh', ['-c', `echo $$ > ${dir}/sleep.pid; exec sleep 600`]);
    console.log(dir);
    await sleeping;
  } else if (mode === 'foreground') {
    const result = await runForeground('sh', ['-c', 'trap "exit 7" TERM; echo ready; i=0; while [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done']);
    console.log(JSON.stringify(result));
  }
}

void main(process.argv[2], process.argv[3]);
