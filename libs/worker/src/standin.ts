/**
 * A stand-in Tinkerbell worker image for tests, made here without any registry: `docker import`
 * of a tar holding the host's static BusyBox (Debian's busybox-static) and /standin.sh as the
 * entrypoint. Like tink-worker and tink-agent, it is started by bootkit with its own entrypoint.
 *
 * What it prints, one `STANDIN ...` line each (on stdout, and on /dev/console when built with
 * console: true, so a QEMU test sees them on the serial console):
 *   STANDIN env NAME=VALUE        for each of the 11 variables bootkit sets (<unset> if absent)
 *   STANDIN cap_eff HEX           CapEff of /proc/self/status (privileged: every capability)
 *   STANDIN net IF IF ...         the network interfaces it sees (host network: the host's)
 *   STANDIN mount /worker writable | /var/run/docker.sock socket | /dev/disk/by-id N | /run ENTRY ...
 *   STANDIN ready                 then it sleeps, as a worker would keep running
 *   STANDIN stopping              on SIGTERM, then it exits 0 (as tink-agent stops)
 * and it writes its environment to /worker/standin.env. Built with exitCode, it prints
 * `STANDIN exiting N` and exits at once instead.
 *
 * Built with rebootChild, the image also holds the build host's docker CLI (with the libraries
 * ldd names) and, after `STANDIN ready`, does what a workflow's last action does: it runs a child
 * container through /var/run/docker.sock, with its own /worker mount's source bound on /worker,
 * that creates /worker/reboot (`STANDIN child started` / `STANDIN child failed: ...`). Before
 * that it reports what the engine says about tink-worker:
 *   STANDIN container /tink-worker privileged=true network=host restart=no
 *   STANDIN container mounts SOURCE:/worker SOURCE:/var/run/docker.sock /dev:/dev SOURCE:/run
 */
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '@hook/process';

export const WORKER_ENV_NAMES = [
  'DOCKER_REGISTRY',
  'REGISTRY_USERNAME',
  'REGISTRY_PASSWORD',
  'TINKERBELL_GRPC_AUTHORITY',
  'TINKERBELL_TLS',
  'TINKERBELL_INSECURE_TLS',
  'WORKER_ID',
  'ID',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
] as const;

export interface StandInOptions {
  /** The image reference to create, e.g. `hook-test/standin:1`. */
  ref: string;
  /** The engine to create it in (`unix:///...`); default: the CLI's own. */
  dockerHost?: string;
  /** Also write the STANDIN lines to /dev/console (for QEMU boots). */
  console?: boolean;
  /** Exit at once with this code instead of running. */
  exitCode?: number;
  /**
   * The first time it runs on a machine, exit with this code this many seconds after `ready`
   * (a worker that crashes once); the next times, keep running. The first time is marked in /worker.
   */
  exitOnce?: { afterSeconds: number; code: number };
  /** Then start a child container that creates /worker/reboot (needs the docker CLI in the image). */
  rebootChild?: boolean;
  /** The docker CLI to put in the image for rebootChild; default: `docker` on PATH. */
  dockerCli?: string;
}

export function standInScript(options: Pick<StandInOptions, 'ref' | 'console' | 'exitCode' | 'exitOnce' | 'rebootChild'>): string {
  const lines = [
    '#!/bin/sh',
    '# The stand-in Tinkerbell worker (libs/worker): reports what a worker sees, then waits.',
    `report() { echo "STANDIN $*"; ${options.console ? 'echo "STANDIN $*" >/dev/console 2>/dev/null; ' : ''}}`,
  ];
  if (options.exitCode !== undefined) {
    lines.push(`report "exiting ${options.exitCode}"`, `exit ${options.exitCode}`);
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    `for name in ${WORKER_ENV_NAMES.join(' ')}; do`,
    '  eval "set -- \\"\\${$name-<unset>}\\""',
    '  report "env $name=$1"',
    'done',
    'report "cap_eff $(awk \'/^CapEff/ { print $2 }\' /proc/self/status)"',
    'report "net $(ls /sys/class/net | tr \'\\n\' \' \')"',
    'if touch /worker/standin-was-here 2>/dev/null; then report "mount /worker writable"; fi',
    '[ -S /var/run/docker.sock ] && report "mount /var/run/docker.sock socket"',
    '[ -d /dev/disk/by-id ] && report "mount /dev/disk/by-id $(ls /dev/disk/by-id | wc -l)"',
    'report "mount /run $(ls /run | tr \'\\n\' \' \')"',
    'env >/worker/standin.env 2>/dev/null',
    'report ready',
  );
  if (options.rebootChild) {
    lines.push(
      '# The source of our /worker as dockerd sees it, as a workflow action would bind it.',
      '# What the engine says about the container we run in.',
      'report "container $(docker inspect --format \'{{.Name}} privileged={{.HostConfig.Privileged}} network={{.HostConfig.NetworkMode}} restart={{.HostConfig.RestartPolicy.Name}}\' tink-worker 2>&1)"',
      'report "container mounts $(docker inspect --format \'{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}\' tink-worker 2>&1)"',
      'worker=$(docker inspect --format \'{{range .Mounts}}{{if eq .Destination "/worker"}}{{.Source}}{{end}}{{end}}\' tink-worker 2>&1)',
      `if output=$(docker run --rm --network none -v "$worker:/worker" --entrypoint /bin/touch ${options.ref} /worker/reboot 2>&1); then`,
      '  report "child started"',
      'else',
      '  report "child failed: $(echo "$worker $output" | tr \'\\n\' \' \')"',
      'fi',
    );
  }
  if (options.exitOnce) {
    const { afterSeconds, code } = options.exitOnce;
    lines.push(
      'if [ ! -e /worker/standin-exited-once ]; then',
      `  sleep ${afterSeconds}`,
      '  touch /worker/standin-exited-once',
      `  report "exiting ${code}"`,
      `  exit ${code}`,
      'fi',
    );
  }
  // Like tink-agent, it stops at once on SIGTERM (docker stop, dockerd's shutdown), and says so.
  lines.push('trap \'report stopping; exit 0\' TERM', 'sleep 2147483647 &', 'wait $!');
  return `${lines.join('\n')}\n`;
}

/** Copies an ELF program to root/target, and the shared libraries ldd names to the same paths. */
async function copyWithLibraries(program: string, root: string, target: string): Promise<void> {
  await copyFile(program, join(root, target));
  const ldd = await run('ldd', [program], { allowFailure: true });
  if (ldd.exitCode !== 0) return; // statically linked
  for (const line of ldd.stdout.split('\n')) {
    const library = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)/.exec(line)?.[1];
    if (!library) continue;
    await mkdir(dirname(join(root, library)), { recursive: true });
    await copyFile(library, join(root, library));
  }
}

export async function buildStandInWorker(options: StandInOptions): Promise<void> {
  const busybox = (await run('sh', ['-c', 'command -v busybox'])).stdout.trim();
  const linkage = await run('file', ['-L', busybox], { allowFailure: true });
  if (linkage.exitCode === 0 && !/statically linked|static-pie/.test(linkage.stdout)) {
    throw new Error(`${busybox} is not statically linked; install busybox-static`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'hook-standin-'));
  try {
    const root = join(dir, 'root');
    await mkdir(join(root, 'bin'), { recursive: true });
    await copyFile(busybox, join(root, 'bin/busybox'));
    for (const applet of (await run(busybox, ['--list'])).stdout.split('\n').map((a) => a.trim())) {
      if (applet && applet !== 'busybox') await symlink('busybox', join(root, 'bin', applet));
    }
    for (const empty of ['worker', 'run', 'tmp', 'proc', 'sys', 'dev', 'etc']) await mkdir(join(root, empty), { recursive: true });
    await writeFile(join(root, 'standin.sh'), standInScript(options), { mode: 0o755 });
    if (options.rebootChild) await copyWithLibraries(options.dockerCli ?? (await run('sh', ['-c', 'command -v docker'])).stdout.trim(), root, '/bin/docker');
    const hostArgs = options.dockerHost ? ['--host', options.dockerHost] : [];
    await run('sh', [
      '-c',
      'dir=$1; ref=$2; shift 2; tar --numeric-owner --owner=0 --group=0 -C "$dir" -c . | docker "$@" import --change \'ENTRYPOINT ["/standin.sh"]\' --change \'ENV PATH=/bin\' - "$ref" >/dev/null',
      'standin',
      root,
      options.ref,
      ...hostArgs,
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
