/** Process entry point of the bundled CLI. */
import { join } from 'node:path';
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
    return exitCodeOf(await runForeground(process.execPath, [nx, ...args], { cwd: root, env }));
  },
  verifyBuild: (flavorId, outputId) => verifyHookosBuild(root, flavorId, outputId),
}).then((code) => {
  process.exitCode = code;
});
