/**
 * The HTTP server around the handler: listening (with the usual mistakes as one-line errors) and
 * stopping (new connections refused, running transfers given a few seconds, then cut).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { cacheRequestHandler, type HandlerContext } from './handler';
import { SetupError } from './setup-error';

const STOP_GRACE_MS = 5_000;

export interface ListeningServer {
  url: string;
  /** Resolves once every connection is closed. */
  stop(): Promise<void>;
}

export async function listenCacheServer(context: HandlerContext, host: string, port: number): Promise<ListeningServer> {
  const server = createServer(
    {
      // An entry of hundreds of MB over a slow link takes minutes: no limit on the whole request,
      // but a connection that stops sending for 2 minutes is cut (see setTimeout below).
      requestTimeout: 0,
      headersTimeout: 60_000,
    },
    withoutKeepAlive(cacheRequestHandler(context)),
  );
  server.setTimeout(120_000);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, port)));
    server.listen(port, host, resolve);
  });
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, stop: () => stop(server) };
}

/**
 * Every answer closes its connection. A kept-alive connection races: Nx's client reused one for
 * its PUT just as the server closed it as idle (Node's 5 s keep-alive), the upload failed with
 * "Broken pipe" and so did the build. A new connection per request costs nothing next to an entry.
 */
function withoutKeepAlive(handler: RequestListener): RequestListener {
  return (request, response) => {
    response.shouldKeepAlive = false;
    handler(request, response);
  };
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new SetupError(`cache-server: port ${port} on ${host} is in use (another server?); pick another with HOOK_CACHE_SERVER_PORT`);
    case 'EACCES':
      return new SetupError(`cache-server: no permission to listen on port ${port}; ports below 1024 need root`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new SetupError(`cache-server: ${host} is not an address of this machine`);
    default:
      return error;
  }
}

async function stop(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
  await closed;
  clearTimeout(cut);
}
