/**
 * What `hook run <flavor>` runs, as its own process for the interactive tests:
 *   node -r @swc-node/register libs/qemu/test/run-flavor.ts <workspace> <flavor> <pid file>
 * The pid file lets a test interrupt exactly this process.
 */
import { writeFileSync } from 'node:fs';
import { reportError } from '@hook/log';
import { runFlavor } from '../src/interactive';

const [workspaceRoot, flavorId, pidFile] = process.argv.slice(2);
writeFileSync(pidFile, String(process.pid));
runFlavor({ workspaceRoot, flavorId, env: process.env }).then(
  () => {
    process.exitCode = 0;
  },
  (error) => {
    process.exitCode = reportError(error);
  },
);
