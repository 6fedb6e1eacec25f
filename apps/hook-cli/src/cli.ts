/** Process entry point of the bundled CLI. */
import { log } from '@hook/log';
import { setting } from '@hook/settings';
import { exitCodeOf, main, nxBinary, nxKeptOutputsPreload, verifyHookosBuild } from './main';

const root = setting(process.env, 'HOOK_WORKSPACE_ROOT') ?? process.cwd();

main(process.argv.slice(2), {
  root,
  env: process.env,
  stdout: process.stdout,
  stdinIsTTY: process.stdin.isTTY === true,
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  hostArch: process.arch,
  async runNx(args, env) {
    const { runForeground } = await import('@hook/process');
    const nx = nxBinary(root);
    // Nx stops its tasks on SIGINT as on SIGTERM, but after SIGTERM it reported the stopped run as
    // "Successfully ran target": SIGTERM and SIGHUP reach Nx as SIGINT.
    // With the daemon off, Nx copies every cache hit's outputs back into dist/ (700 MB for
    // hook-debian-amd64); this preload lets it keep outputs that are unchanged (see the file).
    const preload = nxKeptOutputsPreload(root);
    const result = await runForeground(process.execPath, [...(preload ? ['-r', preload] : []), nx, ...args], { cwd: root, env, forwardAs: 'SIGINT' });
    if (result.interruptedBy) log.warn(`Interrupted (${result.interruptedBy}): the build stopped; its temp files and staging are removed`);
    return exitCodeOf(result);
  },
  verifyBuild: (flavor) => verifyHookosBuild(root, flavor),
  async runQemu(flavorId, env) {
    const { runFlavor } = await import('@hook/qemu');
    await runFlavor({ workspaceRoot: root, flavorId, env });
  },
  async serve(flavorId, env) {
    const { serveFlavor } = await import('@hook/qemu');
    const server = await serveFlavor({ workspaceRoot: root, flavorId, env });
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(name, () => resolve(name));
    });
    await server.close();
    log.info(`${signal}: stopped serving`);
  },
}).then((code) => {
  process.exitCode = code;
});
