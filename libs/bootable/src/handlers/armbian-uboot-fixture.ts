/**
 * Test fixture (specs only): an Armbian u-boot artifact as Armbian publishes it, an ORAS artifact
 * whose file is `linux-u-boot-<board>-<branch>_<version>_arm64.deb` with the binaries and
 * u-boot-metadata.sh under usr/lib/linux-u-boot-<branch>-<board>/, pushed to a (test) registry.
 * Debian packages: dpkg-dev (dpkg-deb).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushArtifact } from '@hook/oci';
import { run } from '@hook/process';

export async function publishUbootArtifact(options: {
  /** `<registry>/armbian/os`, what ARMBIAN_BASE_ORAS_REF then names. */
  base: string;
  /** A scratch folder of the test. */
  dir: string;
  board: string;
  branch: string;
  tag: string;
  files: Record<string, Buffer | string>;
}): Promise<string> {
  const { board, branch } = options;
  const work = await mkdtemp(join(options.dir, `uboot-${board}-`));
  try {
    const pkg = join(work, 'pkg');
    const lib = join(pkg, 'usr', 'lib', `linux-u-boot-${branch}-${board}`);
    await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
    await mkdir(lib, { recursive: true });
    await mkdir(join(pkg, 'usr', 'lib', 'u-boot'), { recursive: true });
    await writeFile(join(pkg, 'DEBIAN', 'control'), `Package: linux-u-boot-${board}-${branch}\nVersion: 25.2.1\nArchitecture: arm64\nMaintainer: t <t@t.invalid>\nDescription: test\n`);
    for (const [name, content] of Object.entries(options.files)) await writeFile(join(lib, name), content);
    await writeFile(join(pkg, 'usr', 'lib', 'u-boot', 'platform_install.sh'), 'write_uboot_platform() { false; } # never run by Hook\n');
    const deb = join(work, `linux-u-boot-${board}-${branch}_25.2.1_arm64.deb`);
    await run('dpkg-deb', ['--root-owner-group', '-Zxz', '-b', pkg, deb]);
    const reference = `${options.base}/uboot-${board}-${branch}:${options.tag}`;
    await pushArtifact(reference, [deb], 'application/vnd.unknown.artifact.v1');
    return reference;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
