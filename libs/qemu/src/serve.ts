/**
 * `hook serve <flavor> LISTEN=<address>:<port>`: the same netboot as `hook run NETBOOT=yes`, for
 * real machines. Smee's iPXE script and the flavor's kernel and initramfs over HTTP, checked
 * against the build's SHA256SUMS first; an existing iPXE (a site's DHCP, a USB stick, Smee's own
 * iPXE) chains to the script's URL.
 */
import { basename } from 'node:path';
import { UserError, log } from '@hook/log';
import { builtFlavorFiles } from './flavor-files';
import { smeeHookScript, smeeValuesFromEnv } from './ipxe-script';
import { NETBOOT_SCRIPT_NAME } from './netboot';
import { parseListen, startNetbootServer, type NetbootServer } from './netboot-server';
import { setting } from '@hook/settings';

export interface ServeFlavorOptions {
  workspaceRoot: string;
  flavorId: string;
  env: NodeJS.ProcessEnv;
}

/** Starts serving; the caller closes the server (the CLI: on Ctrl-C or SIGTERM). */
export async function serveFlavor(options: ServeFlavorOptions): Promise<NetbootServer & { scriptUrl: string }> {
  const listenValue = setting(options.env, 'LISTEN');
  if (!listenValue) throw new UserError('hook serve needs LISTEN=<address>:<port>, the address your machines reach, e.g. LISTEN=10.0.0.1:8080');
  const listen = parseListen(listenValue);
  // What goes out to machines is what the build recorded.
  const { flavor, files, kernel, initrd } = await builtFlavorFiles(options.workspaceRoot, options.flavorId);
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  // Without MAC, iPXE fills in the booting machine's own (as Smee's static script does).
  const values = smeeValuesFromEnv(options.env, {
    arch: flavor.ARCH,
    downloadUrl: `http://${host}:${listen.port}`,
    kernelName: basename(kernel),
    initrdName: basename(initrd),
    mac: setting(options.env, 'MAC') ?? '${mac}',
  });
  const script = smeeHookScript(values);
  const server = await startNetbootServer({
    host: listen.host,
    port: listen.port,
    texts: { [`/${NETBOOT_SCRIPT_NAME}`]: script },
    files: { [`/${basename(kernel)}`]: kernel, [`/${basename(initrd)}`]: initrd },
    onRequest: (r) => log.info(`${r.method} ${r.path}: ${r.status}, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(1)} s`),
  });
  const scriptUrl = `${server.url}/${NETBOOT_SCRIPT_NAME}`;
  log.info(`serving ${flavor.id} (checked against ${files.checksums}) on ${server.url}: ${NETBOOT_SCRIPT_NAME}, ${basename(kernel)}, ${basename(initrd)}`);
  log.info(`from an iPXE prompt or script: chain ${scriptUrl}`);
  return { ...server, scriptUrl, close: () => server.close() };
}
