/**
 * The network a booted worker test talks to, all inside one test namespace, so nothing the guest
 * sends leaves this machine: a tap on a bridge addressed WORKER_NET_HOST, Debian's dnsmasq
 * serving DHCP on it (no DNS), Debian's docker-registry with htpasswd on :5000, the same storage
 * without auth behind a proxy that logs every Authorization header on :5001, optionally the same
 * storage over TLS on :5443, and a UDP syslog listener on :514. The registries can come up later
 * than the rest (a registry that is down at power-on). dispose() ends everything that runs inside
 * the namespace.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { run, spawnFilter } from '@hook/process';
import { stringify } from 'yaml';
import { createBridgedTaps, type TestNetns } from './netns';

export const WORKER_NET_HOST = '192.168.100.1';
/** The registry with htpasswd. */
export const AUTH_REGISTRY = `${WORKER_NET_HOST}:5000`;
/** The same images without auth, every request's Authorization header logged. */
export const OPEN_REGISTRY = `${WORKER_NET_HOST}:5001`;
/** A port nobody listens on: the proxies the command line names (pulls must bypass them). */
export const CLOSED_PROXY = `http://${WORKER_NET_HOST}:3128`;
/** The same images without auth over TLS (options.tls's certificate). */
export const TLS_REGISTRY = `${WORKER_NET_HOST}:5443`;

export interface WorkerNetwork {
  netns: TestNetns;
  tap: string;
  /** Syslog datagrams that arrived at WORKER_NET_HOST:514. */
  syslog: string[];
  /** Requests to OPEN_REGISTRY: method, path, Authorization header (or null). */
  openRegistryRequests: { method: string; url: string; authorization: string | null }[];
  /** dnsmasq's log (DHCPACK ... lines). */
  dhcpLog(): Promise<string>;
  /** Starts the registries when options.registriesLater held off; resolves once they answer. */
  startRegistries(): Promise<void>;
  dispose(): Promise<void>;
}

export interface WorkerNetworkOptions {
  /** A registry storage root to serve (docker-registry's filesystem driver); none: no registries. */
  registryStorage?: string;
  auth?: { username: string; password: string };
  /** Serve the storage over TLS too, on TLS_REGISTRY, with this PEM certificate and key. */
  tls?: { certificate: string; key: string };
  /** Do not start the registries until startRegistries() (the proxy on :5001 answers 502 until then). */
  registriesLater?: boolean;
}

/** Node script run inside the namespace: the syslog listener and the logging proxy. */
const SERVERS_SCRIPT = `
const dgram = require('node:dgram');
const http = require('node:http');
const [host, upstreamPort] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const udp = dgram.createSocket('udp4');
udp.on('message', (m) => say({ syslog: m.toString('utf8') }));
udp.bind(514, host, () => say({ ready: 'syslog' }));
if (upstreamPort) {
  http.createServer((req, res) => {
    say({ request: { method: req.method, url: req.url, authorization: req.headers.authorization ?? null } });
    const up = http.request({ host: '127.0.0.1', port: Number(upstreamPort), method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  }).listen(5001, host, () => say({ ready: 'proxy' }));
}
`;

export async function startWorkerNetwork(options: WorkerNetworkOptions = {}): Promise<WorkerNetwork> {
  const { netns, taps } = await createBridgedTaps(1);
  const dir = await mkdtemp(join(tmpdir(), 'hook-worker-net-'));
  const handles: Promise<void>[] = [];
  const network: WorkerNetwork = {
    netns,
    tap: taps[0],
    syslog: [],
    openRegistryRequests: [],
    dhcpLog: () => readFile(join(dir, 'dnsmasq.log'), 'utf8').catch(() => ''),
    startRegistries: async () => undefined,
    async dispose() {
      await netns.dispose();
      await Promise.all(handles.map((h) => h.catch(() => undefined)));
      await rm(dir, { recursive: true, force: true });
    },
  };
  const inside = async (args: string[], onLine?: (line: string) => void) => {
    const handle = await spawnFilter('ip', ['netns', 'exec', netns.name, ...args]);
    handles.push(handle.done);
    const lines = createInterface({ input: handle.stdout });
    lines.on('line', (line) => onLine?.(line));
    return handle;
  };
  try {
    await netns.exec('ip', ['addr', 'add', `${WORKER_NET_HOST}/24`, 'dev', 'hookbr0']);
    await inside(
      [
        'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--user=root', '--port=0', '--interface=hookbr0', '--bind-interfaces',
        '--dhcp-range=192.168.100.50,192.168.100.99,255.255.255.0,1h', `--dhcp-option=option:router,${WORKER_NET_HOST}`,
        `--dhcp-option=option:dns-server,${WORKER_NET_HOST}`, `--dhcp-leasefile=${join(dir, 'leases')}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`,
        `--log-facility=${join(dir, 'dnsmasq.log')}`, '--log-dhcp',
      ],
    );
    let registriesStarted = false;
    network.startRegistries = async () => {
      if (registriesStarted || !options.registryStorage) return;
      registriesStarted = true;
      const registry = async (name: string, addr: string, { auth, tls }: { auth?: unknown; tls?: { certificate: string; key: string } }) => {
        const config = {
          version: 0.1,
          log: { level: 'error', accesslog: { disabled: true } },
          storage: { filesystem: { rootdirectory: options.registryStorage } },
          http: { addr, secret: `hook-boot-test-${name}`, ...(tls ? { tls } : {}) },
          ...(auth ? { auth } : {}),
        };
        await writeFile(join(dir, `${name}.yml`), stringify(config));
        await inside(['timeout', '-k', '5', '1800', 'docker-registry', 'serve', join(dir, `${name}.yml`)]);
      };
      const answers: string[] = [];
      let auth: unknown;
      if (options.auth) {
        const { stdout } = await run('htpasswd', ['-Bbn', options.auth.username, options.auth.password]);
        await writeFile(join(dir, 'htpasswd'), `${stdout.trim()}\n`);
        auth = { htpasswd: { realm: 'hook-boot-test', path: join(dir, 'htpasswd') } };
      }
      await registry('auth', AUTH_REGISTRY, { auth });
      answers.push(`http://${AUTH_REGISTRY}/v2/`);
      await registry('open', '127.0.0.1:5002', {});
      if (options.tls) {
        const certificate = join(dir, 'registry.crt');
        const key = join(dir, 'registry.key');
        await writeFile(certificate, options.tls.certificate);
        await writeFile(key, options.tls.key);
        await registry('tls', TLS_REGISTRY, { tls: { certificate, key } });
        answers.push(`https://${TLS_REGISTRY}/v2/`);
      }
      // Wait until each answers (from inside the namespace); bounded. curl exits 0 on any HTTP
      // answer (401 included), non-zero while nothing listens; -k: the test's own certificate.
      const deadline = Date.now() + 30_000;
      for (const url of answers) {
        while ((await netns.exec('curl', ['-s', '-k', '-o', '/dev/null', '-m', '2', url]).catch(() => undefined)) === undefined) {
          if (Date.now() > deadline) throw new Error(`${url} did not answer in the test namespace`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    if (!options.registriesLater) await network.startRegistries();
    let ready = 0;
    await writeFile(join(dir, 'servers.js'), SERVERS_SCRIPT);
    await inside(['timeout', '-k', '5', '1800', process.execPath, join(dir, 'servers.js'), WORKER_NET_HOST, options.registryStorage ? '5002' : ''], (line) => {
      const message = JSON.parse(line) as { syslog?: string; request?: WorkerNetwork['openRegistryRequests'][number]; ready?: string };
      if (message.syslog !== undefined) network.syslog.push(message.syslog);
      if (message.request) network.openRegistryRequests.push(message.request);
      if (message.ready) ready++;
    });
    const deadline = Date.now() + 30_000;
    const expectedReady = options.registryStorage ? 2 : 1;
    while (ready < expectedReady) {
      if (Date.now() > deadline) throw new Error('the syslog listener / logging proxy did not start in the test namespace');
      await new Promise((r) => setTimeout(r, 100));
    }
    return network;
  } catch (error) {
    await network.dispose();
    throw error;
  }
}
