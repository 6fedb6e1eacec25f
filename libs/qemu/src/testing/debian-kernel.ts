/**
 * Test fixture: a real, bootable x86_64 kernel without kernel.org, from the Debian archive the
 * host's apt already uses (packages: apt, dpkg). Downloaded once into
 * ${HOOK_TEST_CACHE:-/tmp/hook-test-cache}/debian-kernel and reused by every test run.
 * HOOK_TEST_KERNEL=/path/to/vmlinuz skips the download.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { run } from '@hook/process';
import { setting } from '@hook/settings';

export function testCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return setting(env, 'HOOK_TEST_CACHE');
}

/**
 * Path of a Debian x86_64 vmlinuz. The `linux-image-amd64` metapackage names the current kernel
 * package of the host's release (bookworm: 6.1); only boot/vmlinuz-* is extracted from it.
 */
export async function debianTestKernel(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const given = setting(env, 'HOOK_TEST_KERNEL');
  if (given) return given;
  const dir = join(testCacheDir(env), 'debian-kernel');
  const cached = await findVmlinuz(dir);
  if (cached) return cached;
  await mkdir(dir, { recursive: true });

  const depends = await run('apt-cache', ['depends', '--important', 'linux-image-amd64']);
  const image = /Depends:\s*(linux-image-[0-9][^\s]*-amd64)/.exec(depends.stdout)?.[1];
  if (!image) throw new UserError('apt-cache does not know linux-image-amd64; run apt-get update (or set HOOK_TEST_KERNEL)');

  // Test runs in parallel workers share the cache: the lock makes one of them download.
  const script = [
    'set -e',
    'cd "$1"',
    'ls boot/vmlinuz-* >/dev/null 2>&1 && exit 0',
    'rm -f ./*.deb',
    'apt-get download -q "$2"',
    'dpkg-deb --fsys-tarfile ./*.deb | tar -x --wildcards "./boot/vmlinuz-*"',
    'rm -f ./*.deb',
  ].join('\n');
  await run('flock', [join(dir, '.lock'), 'sh', '-c', script, 'sh', dir, image], { timeoutMs: 300_000 });
  const extracted = await findVmlinuz(dir);
  if (!extracted) throw new Error(`no boot/vmlinuz-* in ${image}`);
  return extracted;
}

async function findVmlinuz(dir: string): Promise<string | undefined> {
  const boot = join(dir, 'boot');
  if (!existsSync(boot)) return undefined;
  const name = (await readdir(boot)).filter((n) => n.startsWith('vmlinuz-')).sort().pop();
  return name ? join(boot, name) : undefined;
}
