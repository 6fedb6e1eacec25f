/**
 * Test fixtures made from a built HookOS initramfs: a second newc archive appended to it (the
 * kernel unpacks both; later files win), e.g. a service broken on purpose, or Debian's dnsmasq
 * for a guest that serves DHCP on a VLAN.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile, chmod, appendFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run, shellQuote } from '@hook/process';

export interface ExtraFile {
  /** Path in the guest, without the leading slash. */
  path: string;
  data?: string | Buffer;
  /** A file of this machine to copy. */
  source?: string;
  mode?: number;
}

/** Writes `output`: `initrd` followed by an archive holding `files`. */
export async function appendToInitramfs(initrd: string, output: string, files: ExtraFile[]): Promise<void> {
  const tree = await mkdtemp(join(tmpdir(), 'hook-initramfs-extra-'));
  try {
    for (const file of files) {
      const target = join(tree, file.path);
      await mkdir(dirname(target), { recursive: true });
      if (file.source) await copyFile(file.source, target);
      else await writeFile(target, file.data ?? '');
      await chmod(target, file.mode ?? 0o644);
    }
    await copyFile(initrd, output);
    // An archive appended to a compressed one must start on a 4-byte boundary.
    const size = (await stat(output)).size;
    await appendFile(output, Buffer.alloc((4 - (size % 4)) % 4));
    await run('sh', ['-c', `cd ${shellQuote(tree)} && find . -mindepth 1 | cpio -o -H newc --quiet --owner 0:0 >> ${shellQuote(output)}`]);
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
}

/** Reads one file out of a zstd-compressed initramfs. */
export async function readFromInitramfs(initrd: string, path: string): Promise<string> {
  return (await run('sh', ['-c', `zstd -dc ${shellQuote(initrd)} | cpio -i --quiet --to-stdout ${shellQuote(path)}`])).stdout;
}

/** The initramfs with ntpd's command replaced by one that prints a line and exits 3. */
export async function withBrokenNtpd(initrd: string, output: string): Promise<void> {
  const configPath = 'containers/services/ntpd/config.json';
  const config = JSON.parse(await readFromInitramfs(initrd, configPath)) as { process: { args: string[] } };
  config.process.args = ['/bin/sh', '-c', 'echo broken on purpose; exit 3'];
  await appendToInitramfs(initrd, output, [{ path: configPath, data: JSON.stringify(config) }]);
}

export const DNSMASQ_READY = 'hook-test: dnsmasq serves DHCP on';

/**
 * The initramfs plus Debian's dnsmasq (this machine's binary with its libraries and loader)
 * and an init.d script that runs it on `iface` (which ipam= configures) for 192.168.77.50-99,
 * logging to the console. For a guest that serves DHCP on a VLAN.
 */
export async function withDnsmasqServer(initrd: string, output: string, iface: string): Promise<void> {
  const ldd = (await run('ldd', ['/usr/sbin/dnsmasq'])).stdout;
  const libraries = [...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1]);
  const loader = /^\s*(\/\S*ld-linux\S*)/m.exec(ldd)?.[1];
  if (!loader) throw new Error('cannot find the dynamic loader of /usr/sbin/dnsmasq');
  const dir = 'opt/dnsmasq';
  const files: ExtraFile[] = [
    { path: `${dir}/dnsmasq`, source: '/usr/sbin/dnsmasq', mode: 0o755 },
    { path: `${dir}/ld.so`, source: loader, mode: 0o755 },
    ...libraries.map((library) => ({ path: `${dir}/${library.split('/').pop()}`, source: library })),
    {
      path: 'etc/init.d/005-test-dhcp-server',
      mode: 0o755,
      data: [
        '#!/bin/sh',
        `/${dir}/ld.so --library-path /${dir} /${dir}/dnsmasq --conf-file=/dev/null --user=root --port=0 --interface=${iface} --bind-interfaces \\`,
        '  --dhcp-range=192.168.77.50,192.168.77.99,255.255.255.0,1h --dhcp-option=option:router,192.168.77.1 \\',
        '  --dhcp-option=option:dns-server,192.168.77.1 --dhcp-leasefile=/run/dnsmasq.leases --pid-file=/run/dnsmasq.pid \\',
        '  --log-facility=/dev/console --log-dhcp || exit 1',
        `echo "${DNSMASQ_READY} ${iface}" >/dev/console`,
        '',
      ].join('\n'),
    },
  ];
  await appendToInitramfs(initrd, output, files);
}
