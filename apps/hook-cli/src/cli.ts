/** Process entry point of the bundled CLI. */
import { join } from 'node:path';
import { main, nxBinary } from './main';

const root = process.env.HOOK_WORKSPACE_ROOT ?? process.cwd();

main(process.argv.slice(2), {
  root,
  env: process.env,
  stdout: process.stdout,
  stdinIsTTY: process.stdin.isTTY === true,
  hostArch: process.arch,
  async runNx(args, env) {
    const { run } = await import('@hook/process');
    const nx = nxBinary(root);
    const result = await run(process.execPath, [nx, ...args], { cwd: root, env, inherit: true, allowFailure: true });
    return result.exitCode;
  },
}).then((code) => {
  process.exitCode = code;
});
