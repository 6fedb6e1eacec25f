/**
 * Nx's self-hosted remote cache protocol (nx >= 20.8):
 *
 *   GET /v1/cache/<hash>   200 and the entry, 404 when missing (or when it no longer matches
 *                          the sha256 of its upload: then it is removed, see store.ts)
 *   PUT /v1/cache/<hash>   200 stored, 409 when the entry exists (entries never change); Nx's
 *                          client takes any other success (201) as an error and uploads again
 *   Authorization: Bearer <token>; unknown or missing token 401, read-only token on PUT 403,
 *   other methods 405, names that are not hashes 404. GET /healthz answers "ok".
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { finished, pipeline } from 'node:stream/promises';
import { EntryStore, IncompleteUpload, UploadTooLarge, isEntryName, type Log } from './store';
import type { Tokens } from './tokens';

/** The biggest entry is a flavor build (about 280 MB); 2 GB leaves room for ISOs and bigger kernels. */
export const MAX_UPLOAD_BYTES = 2 * 1024 ** 3;
const ENTRY_PATH = /^\/v1\/cache\/([^/]+)$/;

export interface HandlerContext {
  store: EntryStore;
  /** A function, so SIGHUP can swap in re-read tokens. */
  tokens: () => Tokens;
  log: Log;
}

export function cacheRequestHandler(context: HandlerContext): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    handle(context, request, response).catch((error: unknown) => {
      context.log(`cache-server: ${request.method} ${request.url} failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) refuse(request, response, 500, 'Internal server error\n');
      else response.destroy();
    });
  };
}

async function handle({ store, tokens, log }: HandlerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://cache').pathname;
  if (path === '/healthz') return answer(response, 200, 'ok\n');
  const hash = ENTRY_PATH.exec(path)?.[1];
  if (hash === undefined || !isEntryName(hash)) return refuse(request, response, 404, 'Not found\n');

  const role = tokens().roleOf(request.headers.authorization);
  if (role === undefined) return refuse(request, response, 401, 'Unauthorized\n', { 'www-authenticate': 'Bearer realm="nx-cache"' });
  switch (request.method) {
    case 'GET':
    case 'HEAD':
      return download(store, hash, request, response);
    case 'PUT':
      if (role !== 'rw') return refuse(request, response, 403, 'Forbidden: read-only token\n');
      return upload(store, log, hash, request, response);
    default:
      return refuse(request, response, 405, 'Method not allowed\n', { allow: 'GET, HEAD, PUT' });
  }
}

async function download(store: EntryStore, hash: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const entry = await store.openVerified(hash);
  if (typeof entry === 'string') return answer(response, 404, 'Not found\n');
  try {
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': entry.size });
    if (request.method === 'HEAD') return void response.end();
    await pipeline(entry.file.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 20 }), response).catch((error: NodeJS.ErrnoException) => {
      // The client went away mid-download: nothing to answer, nothing to log.
      if (error.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
    });
  } finally {
    await entry.file.close();
  }
}

const OVERRIDE_REFUSED = 'Cannot override an existing record\n';

async function upload(store: EntryStore, log: Log, hash: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const declared = request.headers['content-length'];
  const expectedBytes = declared === undefined ? undefined : Number(declared);
  if (expectedBytes !== undefined && expectedBytes > MAX_UPLOAD_BYTES) return refuse(request, response, 413, 'Entry too large (2 GB at most)\n');
  // The rule against cache poisoning (CVE-2025-36852): an existing record is never replaced.
  if (await store.has(hash)) return answerAfterBody(request, response, 409, OVERRIDE_REFUSED);
  try {
    const outcome = await store.receive(hash, request, { maxBytes: MAX_UPLOAD_BYTES, expectedBytes });
    if (outcome === 'exists') return answer(response, 409, OVERRIDE_REFUSED);
    return answer(response, 200, '');
  } catch (error) {
    if (error instanceof UploadTooLarge) return refuse(request, response, 413, 'Entry too large (2 GB at most)\n');
    if (error instanceof IncompleteUpload || clientWentAway(error)) {
      log(`cache-server: the upload of ${hash} stopped before its end: nothing stored`);
      return void response.destroy();
    }
    throw error;
  }
}

/**
 * Answers once the body has been read and dropped. Nx's client writes the whole body before it
 * reads an answer: an answer and a close while it still writes reach it as "Broken pipe", and it
 * retries the same upload, up to six times, then fails the task.
 */
async function answerAfterBody(request: IncomingMessage, response: ServerResponse, status: number, body: string): Promise<void> {
  request.resume();
  try {
    await finished(request);
  } catch {
    return void response.destroy();
  }
  answer(response, status, body);
}

/** The client closed the connection mid-body (not a fault of ours, like a full disk). */
function clientWentAway(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (error as Error).message === 'aborted';
}

function answer(response: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders = {}): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  response.end(body);
}

/**
 * Answers without reading the body: the connection closes after the answer, and what the client
 * still sends meanwhile is read and dropped so it sees the answer rather than a reset.
 */
function refuse(request: IncomingMessage, response: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders = {}): void {
  const hasBody = !request.complete && (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined);
  answer(response, status, body, hasBody ? { ...headers, connection: 'close' } : headers);
  if (hasBody) request.resume();
}
