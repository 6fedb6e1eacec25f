/**
 * Small servers the worker tests talk to, all on loopback or a unix socket in a temp dir:
 * - a registry look-alike that logs every request's Authorization header and always answers
 *   401 with a Basic challenge (so a client that has credentials for it sends them);
 * - a syslog (UDP) listener;
 * - a fake Docker Engine API on a unix socket that records what the docker CLI sends (the
 *   X-Registry-Auth of a pull, the body of a container create): the cheap edge for the
 *   credential and command-line tables, with the real engine tests behind it.
 */
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LoggedRequest {
  method: string;
  url: string;
  authorization?: string;
}

export interface AuthLoggingRegistry {
  host: string;
  requests: LoggedRequest[];
  stop(): Promise<void>;
}

export async function startAuthLoggingRegistry(): Promise<AuthLoggingRegistry> {
  const requests: LoggedRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    res.writeHead(401, {
      'Content-Type': 'application/json',
      'Docker-Distribution-Api-Version': 'registry/2.0',
      'WWW-Authenticate': 'Basic realm="hook-auth-logging-registry"',
    });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { host: `127.0.0.1:${address.port}`, requests, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface SyslogListener {
  port: number;
  messages: string[];
  stop(): Promise<void>;
}

export async function startSyslogListener(): Promise<SyslogListener> {
  const socket = createSocket('udp4');
  const messages: string[] = [];
  socket.on('message', (message) => messages.push(message.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, messages, stop: () => new Promise((resolve) => socket.close(() => resolve())) };
}

export interface FakeEnginePull {
  image: string;
  /** The decoded X-Registry-Auth (JSON), {} when the CLI sent none or an empty one. */
  auth: Record<string, string>;
}

export interface FakeEngine {
  socket: string;
  dockerHost: string;
  pulls: FakeEnginePull[];
  /** Bodies of POST /containers/create, with the requested name. */
  creates: Array<{ name: string; body: Record<string, unknown> }>;
  /** Requests nothing here answers, for debugging. */
  unknown: string[];
  /** Forgets what was recorded. */
  reset(): void;
  stop(): Promise<void>;
}

/**
 * Answers the calls bootkit makes: ping, image inspect (404: not there), pull (success),
 * container inspect (404 until created; then running), create, start.
 */
export async function startFakeEngine(): Promise<FakeEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'hook-fake-engine-'));
  const socket = join(dir, 'docker.sock');
  const pulls: FakeEnginePull[] = [];
  const creates: FakeEngine['creates'] = [];
  const unknown: string[] = [];
  let created = false;
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Api-Version': '1.41' });
    res.end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
      req.on('end', () => resolve(data));
    });
    const url = new URL(req.url ?? '/', 'http://engine');
    const path = url.pathname.replace(/^\/v[0-9.]+/, '');
    if (path === '/_ping') {
      res.writeHead(200, { 'Api-Version': '1.41', 'Ostype': 'linux', 'Content-Type': 'text/plain' });
      res.end(req.method === 'HEAD' ? undefined : 'OK');
    } else if (req.method === 'GET' && /^\/images\/.+\/json$/.test(path)) {
      json(res, 404, { message: 'No such image' });
    } else if (req.method === 'POST' && path === '/images/create') {
      const header = req.headers['x-registry-auth'];
      let auth: Record<string, string> = {};
      if (typeof header === 'string' && header !== '') {
        auth = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as Record<string, string>;
      }
      const tag = url.searchParams.get('tag');
      pulls.push({ image: `${url.searchParams.get('fromImage')}${tag ? (tag.startsWith('sha256:') ? `@${tag}` : `:${tag}`) : ''}`, auth });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"Status: Downloaded newer image"}\n');
    } else if (req.method === 'GET' && path === '/containers/tink-worker/json') {
      if (!created) json(res, 404, { message: 'No such container: tink-worker' });
      else json(res, 200, { Id: 'fake', Name: '/tink-worker', State: { Running: true, ExitCode: 0, Status: 'running' }, Config: {}, HostConfig: {} });
    } else if (req.method === 'POST' && path === '/containers/create') {
      creates.push({ name: url.searchParams.get('name') ?? '', body: JSON.parse(body || '{}') as Record<string, unknown> });
      created = true;
      json(res, 201, { Id: 'fake', Warnings: [] });
    } else if (req.method === 'POST' && /^\/containers\/(fake|tink-worker)\/start$/.test(path)) {
      res.writeHead(204);
      res.end();
    } else {
      unknown.push(`${req.method} ${req.url}`);
      json(res, 404, { message: `the fake engine does not answer ${req.method} ${path}` });
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => json(res, 500, { message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    dockerHost: `unix://${socket}`,
    pulls,
    creates,
    unknown,
    reset() {
      pulls.length = 0;
      creates.length = 0;
      unknown.length = 0;
      created = false;
    },
    async stop() {
      // A CLI killed mid-request can leave its connection open; close() alone would wait for it.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
