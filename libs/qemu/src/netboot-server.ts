/**
 * The HTTP side of a netboot: Smee's iPXE script and HookOS's kernel and initramfs, served from
 * one address (loopback for `hook run NETBOOT=yes` and the tests, the address a site's machines
 * reach for `hook serve`). Every request is recorded, so a caller can say what iPXE fetched,
 * how big it was and how long it took.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserError } from '@hook/log';

export interface ServedRequest {
  method: string;
  path: string;
  status: number;
  bytes: number;
  /** Seconds from the request to the last byte sent. */
  seconds: number;
  /** Milliseconds since the server started, when the request came. */
  at: number;
}

export interface NetbootServerOptions {
  /** Address and port to listen on (port 0: any free one). */
  host: string;
  port: number;
  /** URL path -> text (the iPXE script). */
  texts: Record<string, string>;
  /** URL path -> file on this machine (vmlinuz, initramfs). */
  files: Record<string, string>;
  /** Called after each response (e.g. to print it). */
  onRequest?: (request: ServedRequest) => void;
}

export interface NetbootServer {
  /** http://host:port (IPv6 in brackets). */
  url: string;
  port: number;
  readonly requests: readonly ServedRequest[];
  close(): Promise<void>;
}

export async function startNetbootServer(options: NetbootServerOptions): Promise<NetbootServer> {
  const requests: ServedRequest[] = [];
  const started = Date.now();
  const server: Server = createServer((request, response) => {
    const begun = Date.now();
    const path = decodeURIComponent((request.url ?? '/').split('?')[0]);
    let bytes = 0;
    const finish = () => {
      const record = { method: request.method ?? 'GET', path, status: response.statusCode, bytes, seconds: (Date.now() - begun) / 1000, at: begun - started };
      requests.push(record);
      options.onRequest?.(record);
    };
    response.on('close', finish);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const text = options.texts[path];
    if (text !== undefined) {
      const body = Buffer.from(text);
      bytes = request.method === 'HEAD' ? 0 : body.length;
      response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
      response.end(request.method === 'HEAD' ? undefined : body);
      return;
    }
    const file = options.files[path];
    if (file === undefined) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end(`${path} is not served here\n`);
      return;
    }
    stat(file).then(
      (info) => {
        response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': info.size });
        if (request.method === 'HEAD') return void response.end();
        const stream = createReadStream(file);
        stream.on('data', (chunk) => (bytes += chunk.length));
        stream.on('error', () => response.destroy());
        stream.pipe(response);
      },
      () => void response.writeHead(404).end(`${path}: the file is gone\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(new UserError(`cannot serve on ${formatHost(options.host)}:${options.port} (${error.code ?? error.message}): give an address of this machine and a free port, e.g. LISTEN=10.0.0.1:8080`));
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${formatHost(options.host)}:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `host:port` (IPv6 as [addr]:port) from LISTEN=; an address the machines reach, not a wildcard. */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 1 && port <= 65535)) {
    throw new UserError(`LISTEN is '${value}'; give the address and port to serve on, as the machines reach it, e.g. LISTEN=10.0.0.1:8080`);
  }
  const host = match[1] ?? match[2];
  if (host === '0.0.0.0' || host === '::') {
    throw new UserError(`LISTEN=${value} is every address, but the iPXE script must name one: give the address the machines reach, e.g. LISTEN=10.0.0.1:${port}`);
  }
  return { host, port };
}

/** "143.2 MB in 9.8 s (14.6 MB/s)" for what iPXE downloaded. */
export function describeDownload(requests: readonly ServedRequest[]): string {
  const bytes = requests.reduce((sum, r) => sum + r.bytes, 0);
  const first = Math.min(...requests.map((r) => r.at));
  const last = Math.max(...requests.map((r) => r.at + r.seconds * 1000));
  const seconds = (last - first) / 1000;
  return `${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s (${(bytes / 1e6 / Math.max(seconds, 0.001)).toFixed(1)} MB/s)`;
}
