/** Process entry point of the bundled CLI. */
import { join } from 'node:path';
import { log } from '@hook/log';
import { exitCodeOf, main, nxBinary, verifyHookosBuild } from './main';

const root = process.env.HOOK_WORKSPACE_ROOT ?? process.cwd();

main(process.argv.slice(2), {
  root,
  env: process.env,
  stdout: process.stdout,
  stdinIsTTY: process.stdin.isTTY === true,
  hostArch: process.arch,
  async runNx(args, env) {
    const { runForeground } = await import('@hook/process');
    const nx = nxBinary(root);
    // Nx stops its tasks on SIGINT as on SIGTERM, but after SIGTERM it reported the stopped run as
    // "Successfully ran target": SIGTERM and SIGHUP reach Nx as SIGINT.
    const result = await runForeground(process.execPath, [nx, ...args], { cwd: root, env, forwardAs: 'SIGINT' });
    if (result.interruptedBy) log.warn(`Interrupted (${result.interruptedBy}): the build stopped; its temp files and staging are removed`);
    return exitCodeOf(result);
  },
  verifyBuild: (flavorId, outputId) => verifyHookosBuild(root, flavorId, outputId),
}).then((code) => {
  process.exitCode = code;
});
