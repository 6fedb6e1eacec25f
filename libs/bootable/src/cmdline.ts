/**
 * The kernel command line of a bootable medium: upstream's Tinkerbell parameters
 * (fill_array_bootable_tinkerbell_kernel_parameters in bash/bootable-media.sh, same names and
 * defaults) and the board's console. Every handler uses this one function.
 */
import { UserError } from '@hook/log';

/** The settings a medium is built with (TINK_* and WORKER_ID), defaults applied. */
export interface TinkSettings {
  workerImage: string;
  server: string;
  tls: string;
  grpcPort: string;
  /** Upstream's default is the board id (e.g. grub-debian-amd64-generic); a site sets the MAC. */
  workerId: string;
}

export const TINK_DEFAULTS = {
  TINK_WORKER_IMAGE: 'ghcr.io/tinkerbell/tink-agent:latest',
  TINK_SERVER: 'tinkerbell',
  TINK_TLS: 'false',
  TINK_GRPC_PORT: '42113',
} as const;

/** The environment variables that change a medium's command line (Nx hashes them). */
export const TINK_SETTING_NAMES = ['TINK_WORKER_IMAGE', 'TINK_SERVER', 'TINK_TLS', 'TINK_GRPC_PORT', 'WORKER_ID'] as const;

/**
 * Characters a value may hold: the kernel splits its command line on spaces, HookOS's parsers
 * take a value up to the next space, and GRUB's and u-boot's config languages give `$ ; " ' \`
 * and friends a meaning of their own.
 */
const SAFE_VALUE = /^[A-Za-z0-9._:/@%+,=[\]-]+$/;

function setting(env: NodeJS.ProcessEnv, name: (typeof TINK_SETTING_NAMES)[number], fallback: string): string {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback : raw;
  if (!SAFE_VALUE.test(value)) {
    throw new UserError(`${name} is '${value}': a kernel command line value cannot hold spaces or any of $ ; " ' \\ \` ( ) { } < > | & * ? ! #; use letters, digits and . _ : / @ % + , = - [ ]`);
  }
  return value;
}

/** Reads TINK_* and WORKER_ID from the environment, with upstream's defaults; a bad value is one UserError line. */
export function tinkSettings(env: NodeJS.ProcessEnv, boardId: string): TinkSettings {
  const settings: TinkSettings = {
    workerImage: setting(env, 'TINK_WORKER_IMAGE', TINK_DEFAULTS.TINK_WORKER_IMAGE),
    server: setting(env, 'TINK_SERVER', TINK_DEFAULTS.TINK_SERVER),
    tls: setting(env, 'TINK_TLS', TINK_DEFAULTS.TINK_TLS),
    grpcPort: setting(env, 'TINK_GRPC_PORT', TINK_DEFAULTS.TINK_GRPC_PORT),
    workerId: setting(env, 'WORKER_ID', boardId),
  };
  if (!/^\d+$/.test(settings.grpcPort) || Number(settings.grpcPort) < 1 || Number(settings.grpcPort) > 65535) {
    throw new UserError(`TINK_GRPC_PORT is '${settings.grpcPort}'; use a TCP port number (1-65535), e.g. 42113`);
  }
  if (!['true', 'false'].includes(settings.tls)) throw new UserError(`TINK_TLS is '${settings.tls}'; use true or false`);
  return settings;
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
