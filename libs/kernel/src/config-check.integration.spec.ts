/**
 * The kernel config check for real, without compiling: `make olddefconfig` on Debian's
 * linux-source-6.12 (unpacked once into the shared cache, like the tiny-kernel tests), Docker's
 * own contrib/check-config.sh from Debian's docker.io, Debian's linux-image packages through apt,
 * and an Armbian artifact served by a docker-registry on loopback.
 * Debian packages: docker.io, build-essential bison flex (Kconfig's conf), gcc-aarch64-linux-gnu,
 * xz-utils, dpkg-dev, docker-registry. Warm: about 20 s (Kconfig runs ~2 s per config).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@hook/process';
import { pushArtifact } from '@hook/oci';
import { startRegistry, type TestRegistry } from '@hook/testing';
import { checkAllKernelConfigs, checkKernelConfig, completeDefconfig, reportConfigCheck } from './config-check';
import { runDockerCheckConfig } from './docker-check-config';
import { readRequiredList } from './kconfig';
import { findKernel } from './target';
import { REPO_ROOT, SHARED_CACHE, makeWorkspace, removeWorkspace } from '../test/helpers';

// A cold cache unpacks linux-source-6.12 (~11 s idle, minutes on a busy machine) and downloads
// two linux-image packages once.
jest.setTimeout(20 * 60_000);

const env = { ...process.env, CACHE_DIR: SHARED_CACHE, KERNEL_SOURCE: 'debian' };
const SERIAL_CONSOLE_REASON = 'console=ttyS0/ttyS1 (IPMI serial-over-LAN); without it the serial console stays silent';

describe('kernel config check (integration: make olddefconfig on Debian linux-source-6.12, Docker check-config.sh)', () => {
  let root: string | undefined;
  afterAll(() => removeWorkspace(root));

  it('fails on generic-6.12.y-x86_64 as it was before the serial console fix, with one line: option, file, reason', async () => {
    root = await makeWorkspace(['hook-default-amd64']);
    const defconfig = join(root, 'kernel', 'configs', 'generic-6.12.y-x86_64');
    const fixed = await readFile(defconfig, 'utf8');
    expect(fixed).toContain('CONFIG_SERIAL_8250=y\nCONFIG_SERIAL_8250_CONSOLE=y\n');
    // Exactly the file before the fix (commit "kernel configs: serial console ..." added this line only).
    await writeFile(defconfig, fixed.replace('CONFIG_SERIAL_8250_CONSOLE=y\n', ''));

    const report = await checkKernelConfig({ workspaceRoot: root, env, kernel: findKernel(root, 'hook-default-amd64') });
    expect(report.failures).toEqual([`CONFIG_SERIAL_8250_CONSOLE is not set in kernel/configs/generic-6.12.y-x86_64, needs =y: ${SERIAL_CONSOLE_REASON}`]);
    expect(report.checked).toEqual([expect.stringMatching(/^kernel\/configs\/generic-6\.12\.y-x86_64: make olddefconfig on Debian linux-source 6\.12\.117-1; \d+ listed options and Docker's \d+ Generally Necessary ones$/)]);
    expect(() => reportConfigCheck(report)).toThrow('kernel config check: 1 required option missing (listed above)');
  });

  it('passes on every HookOS defconfig and on the Debian kernels, and says what it did not check', async () => {
    const report = await checkAllKernelConfigs({ workspaceRoot: REPO_ROOT, env });
    console.log(['kernel config check:', ...report.checked.map((l) => `checked ${l}`), ...report.skipped, ...report.notes.map((l) => `note: ${l}`)].join('\n'));
    expect(report.failures).toEqual([]);
    expect(() => reportConfigCheck(report)).not.toThrow();

    const checked = (file: string) => report.checked.find((line) => line.startsWith(`${file}: `) || line.startsWith(`${file} (`)) ?? `${file} not checked`;
    for (const arch of ['x86_64', 'aarch64']) {
      expect(checked(`kernel/configs/generic-6.12.y-${arch}`)).toMatch(/: make olddefconfig on Debian linux-source 6\.12\.117-1;/);
      // No 6.6 or 5.10 source offline: their own lines, the 6.12 Kconfig for what they leave out.
      for (const series of ['6.6', '5.10']) {
        expect(checked(`kernel/configs/generic-${series}.y-${arch}`)).toMatch(new RegExp(`: no ${series.replace('.', '\\.')} source here .* the defaults of Debian linux-source 6\\.12\\.117-1's Kconfig \\(an approximation`));
      }
    }
    expect(checked('hook-debian-amd64')).toMatch(/^hook-debian-amd64 \(Debian trixie linux-image-6\.12\.\d+\+deb13-amd64 [^)]+\): \/boot\/config-6\.12\.\d+\+deb13-amd64: the config the package ships;/);
    expect(checked('hook-debian-arm64')).toMatch(/: the config the package ships;/);
    // Debian builds without /proc/config.gz: a note for a kernel Hook does not configure, not a failure.
    expect(report.notes).toContainEqual(expect.stringMatching(/^CONFIG_IKCONFIG_PROC is not set in hook-debian-amd64 .*\/boot\/config-.*, needs =y: \/proc\/config\.gz/));
    expect(report.skipped).toContain('kernel/configs/tiny-6.12.y-x86_64: not checked: test kernels (tinyconfig + QEMU essentials), never booted as HookOS');
    // Armbian artifacts come from Armbian's registry, which tests do not reach: checked when cached, else named.
    expect([...report.checked, ...report.skipped].filter((line) => line.startsWith('armbian-uefi-x86-edge'))).toHaveLength(1);
  });

  it('the 6.6 defconfig without the serial console fails through the 6.12 Kconfig stand-in, saying so', async () => {
    const workspace = await makeWorkspace([]);
    try {
      const configs = join(workspace, 'kernel', 'configs');
      for (const name of await readdir(configs)) if (/^(generic|tiny)-/.test(name) && name !== 'generic-6.6.y-x86_64') await rm(join(configs, name));
      const defconfig = join(configs, 'generic-6.6.y-x86_64');
      await writeFile(defconfig, (await readFile(defconfig, 'utf8')).replace('CONFIG_SERIAL_8250_CONSOLE=y\n', ''));
      // No kernel definitions and one defconfig in this workspace: only that one is checked.
      const report = await checkAllKernelConfigs({ workspaceRoot: workspace, env });
      expect(report.failures).toEqual([
        `CONFIG_SERIAL_8250_CONSOLE is not set in kernel/configs/generic-6.6.y-x86_64 (options it leaves out: 6.12 Kconfig defaults as a stand-in), needs =y: ${SERIAL_CONSOLE_REASON}`,
      ]);
    } finally {
      await removeWorkspace(workspace);
    }
  });

  it("runs Docker's check-config.sh on the config and reports its Generally Necessary options", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hook-config-check-'));
    try {
      const complete = join(dir, 'x86_64.config');
      await completeDefconfig({ workspaceRoot: REPO_ROOT, env, fileName: 'generic-6.12.y-x86_64', out: complete });
      const full = await runDockerCheckConfig(complete, env);
      expect(full.necessary).toEqual(expect.arrayContaining(['NAMESPACES', 'CGROUPS', 'VETH', 'BRIDGE', 'IP_NF_NAT', 'POSIX_MQUEUE']));
      expect(full.missing).toEqual([]);
      // Every option the installed script calls necessary is in the list, so each failure line has its reason.
      const empty = join(dir, 'empty.config');
      await writeFile(empty, '');
      const all = (await runDockerCheckConfig(empty, env)).necessary;
      const listed = new Set((await readRequiredList(REPO_ROOT)).options.map((o) => o.option));
      expect(all.filter((option) => !listed.has(option))).toEqual([]);
      const withoutVeth = join(dir, 'no-veth.config');
      await writeFile(withoutVeth, (await readFile(complete, 'utf8')).replace(/^CONFIG_VETH=.*$/m, '# CONFIG_VETH is not set'));
      expect((await runDockerCheckConfig(withoutVeth, env)).missing).toEqual(['VETH']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('kernel config check of an Armbian kernel (integration: docker-registry on loopback)', () => {
  const RELEASE = '6.12.9-current-meson64';
  let registry: TestRegistry | undefined;
  let dir: string | undefined;
  let root: string | undefined;

  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await removeWorkspace(root);
  });

  /** An Armbian-style artifact: a tar holding linux-image-*.deb with boot/config-<release>. */
  async function pushKernelArtifact(reference: string, config: string, name: string): Promise<void> {
    const pkg = join(dir as string, name);
    await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
    await mkdir(join(pkg, 'boot'), { recursive: true });
    await writeFile(join(pkg, 'DEBIAN', 'control'), `Package: linux-image-current-meson64\nVersion: 26.2.1\nArchitecture: arm64\nMaintainer: t <t@t.invalid>\nDescription: test\n`);
    await writeFile(join(pkg, 'boot', `config-${RELEASE}`), config);
    await writeFile(join(pkg, 'boot', `vmlinuz-${RELEASE}`), 'ARM64-IMAGE');
    const bundle = join(dir as string, `${name}-bundle`);
    await mkdir(bundle);
    await run('dpkg-deb', ['--root-owner-group', '-Zxz', '-b', pkg, join(bundle, 'linux-image-current-meson64_26.2.1_arm64.deb')]);
    const tar = join(dir as string, `${name}.tar`);
    await run('tar', ['-cf', tar, '-C', bundle, '.']);
    await pushArtifact(reference, [tar], 'application/vnd.unknown.artifact.v1');
  }

  it('pulls the artifact and checks the config its linux-image package ships: passes, and fails without the PL011 console', async () => {
    registry = await startRegistry();
    dir = await mkdtemp(join(tmpdir(), 'hook-armbian-config-'));
    root = await makeWorkspace(['armbian-meson64-edge']);
    const complete = join(dir, 'aarch64.config');
    await completeDefconfig({ workspaceRoot: REPO_ROOT, env, fileName: 'generic-6.12.y-aarch64', out: complete });
    const good = await readFile(complete, 'utf8');
    const repository = `${registry.host}/armbian/os/kernel-meson64-edge`;
    const goodTag = '6.12.9-Sabcd-D1234-P0000-C0000-H0000-HK01ba-Vc222-B0000-R448a';
    const badTag = '6.12.8-Sdead-D1234-P0000-C0000-H0000-HK01ba-Vc222-B0000-R448a';
    await pushKernelArtifact(`${repository}:${goodTag}`, good, 'good');
    await pushKernelArtifact(`${repository}:${badTag}`, good.replace(/^CONFIG_SERIAL_AMBA_PL011_CONSOLE=y$/m, '# CONFIG_SERIAL_AMBA_PL011_CONSOLE is not set'), 'bad');
    const armbianEnv = { ...process.env, CACHE_DIR: join(dir, 'cache'), ARMBIAN_BASE_ORAS_REF: `${registry.host}/armbian/os` };
    const kernel = findKernel(root, 'armbian-meson64-edge');

    const passing = await checkKernelConfig({ workspaceRoot: root, env: armbianEnv, kernel });
    expect(passing.failures).toEqual([]);
    expect(passing.checked).toEqual([expect.stringContaining(`armbian-meson64-edge (Armbian ${repository}:${goodTag}): /boot/config-${RELEASE}: the config the package ships;`)]);

    const failing = await checkKernelConfig({ workspaceRoot: root, env: { ...armbianEnv, ARMBIAN_KERNEL_VERSION: badTag }, kernel });
    expect(failing.failures).toEqual([
      `CONFIG_SERIAL_AMBA_PL011_CONSOLE is not set in armbian-meson64-edge (Armbian ${repository}:${badTag}): /boot/config-${RELEASE}, needs =y: console=ttyAMA0 on arm64; without it the serial console stays silent`,
    ]);

    // The whole-repository check takes an artifact that is already in the cache (this workspace
    // has no defconfigs: their source lives in the shared cache, not in this test's CACHE_DIR).
    for (const name of await readdir(join(root, 'kernel', 'configs'))) if (name.startsWith('generic-') || name.startsWith('tiny-')) await rm(join(root, 'kernel', 'configs', name));
    const cached = await checkAllKernelConfigs({ workspaceRoot: root, env: { ...armbianEnv, ARMBIAN_KERNEL_VERSION: goodTag } });
    expect(cached.checked).toContainEqual(expect.stringContaining(`armbian-meson64-edge (Armbian kernel-meson64-edge:${goodTag} (cached)): /boot/config-${RELEASE}`));
  });
});
