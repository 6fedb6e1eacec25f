/**
 * The kernel command line of a bootable medium: upstream's Tinkerbell parameters
 * (fill_array_bootable_tinkerbell_kernel_parameters in bash/bootable-media.sh, same names and
 * defaults) and the board's console. Every handler uses this one function.
 */
import { setting } from '@hook/settings';

/** The settings a medium is built with (TINK_* and WORKER_ID), defaults applied. */
export interface TinkSettings {
  workerImage: string;
  server: string;
  tls: string;
  grpcPort: string;
  /** Upstream's default is the board id (e.g. grub-debian-amd64-generic); a site sets the MAC. */
  workerId: string;
}

/** Media without TINK_SERVER name the server `tinkerbell` (upstream's bootable-media default). */
export const DEFAULT_MEDIA_TINK_SERVER = 'tinkerbell';

/** Reads TINK_* and WORKER_ID (the registry checks each value), with upstream's defaults for media. */
export function tinkSettings(env: NodeJS.ProcessEnv, boardId: string): TinkSettings {
  return {
    workerImage: setting(env, 'TINK_WORKER_IMAGE'),
    server: setting(env, 'TINK_SERVER') ?? DEFAULT_MEDIA_TINK_SERVER,
    tls: setting(env, 'TINK_TLS'),
    grpcPort: String(setting(env, 'TINK_GRPC_PORT')),
    workerId: setting(env, 'WORKER_ID') ?? boardId,
  };
}

/**
 * The kernel command line: the board's consoles (the last one is /dev/console; HookOS starts
 * a getty on each), then upstream's Tinkerbell parameters in upstream's order.
 * `consoles` are `console=` values, e.g. `ttyS0` or `ttyS2,1500000`.
 */
export function kernelCommandLine(tink: TinkSettings, consoles: string[], extra: string[] = []): string {
  for (const console of consoles) {
    if (!/^[A-Za-z0-9]+(,[A-Za-z0-9]+)?$/.test(console)) throw new Error(`bad console '${console}'`);
  }
  return [
    ...consoles.map((c) => `console=${c}`),
    `worker_id=${tink.workerId}`,
    `tink_worker_image=${tink.workerImage}`,
    `grpc_authority=${tink.server}:${tink.grpcPort}`,
    `tinkerbell_tls=${tink.tls}`,
    `syslog_host=${tink.server}`,
    ...extra,
  ].join(' ');
}
