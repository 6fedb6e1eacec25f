/**
 * Every setting Hook reads from the environment: its kind, default, whose Nx hash it enters and
 * one line of doc. Adding a setting is one entry here; `setting(env, NAME)` reads it, the Nx
 * plugin hashes it where `hashes` says, `hook settings` and the README's table list it.
 */
import { choice, list, path, text, whole, yesNo } from './kinds';

/** Upstream's publishing location of kernel images. */
export const DEFAULT_KERNEL_OCI_BASE = 'ghcr.io/tinkerbell/hook/kernel/hook-kernel';
/** Upstream's publishing location of container images. */
export const DEFAULT_LK_CONTAINERS_OCI_BASE = 'ghcr.io/tinkerbell/hook/linuxkit/';
/** Where Armbian publishes its OCI artifacts (kernels, u-boot). */
export const DEFAULT_ARMBIAN_OCI_BASE = 'ghcr.io/armbian/os';
/** The worker image Tinkerbell's Helm chart gives Smee (tink-agent); upstream's `run` used the legacy tink-worker. */
export const DEFAULT_TINK_WORKER_IMAGE = 'ghcr.io/tinkerbell/tink-agent:latest';
/** LinuxKit's fixed mtime (2017-04-18), upstream's for every file of HookOS. */
export const LINUXKIT_EPOCH = 1492533000;

/** Characters a kernel command line value may hold (no spaces, nothing GRUB or u-boot would interpret). */
const CMDLINE_VALUE = /^[A-Za-z0-9._:/@%+,=[\]-]+$/;
const CMDLINE_TEXT = "letters, digits and . _ : / @ % + , = - [ ] (a kernel command line value: no spaces or shell characters)";

export const SETTINGS = {
  // general
  DEBUG: yesNo('no', { group: 'general', doc: '`yes`: debug logs and stack traces' }),
  CACHE_DIR: path({ fallback: 'cache', group: 'general', doc: 'downloads, unpacked kernel sources, Debian packages, ccache (relative to the workspace)' }),
  HOOK_TMPDIR: path({ group: 'general', defaultText: 'the OS temp dir', doc: 'Hook\'s temp files go to `$HOOK_TMPDIR/hook` (see "Reliability")' }),
  HOOK_WORKSPACE_ROOT: path({ group: 'general', defaultText: 'the current folder', doc: 'the checkout `hook` works in' }),
  SOURCE_DATE_EPOCH: whole({ min: 0, max: 0xffffffff, group: 'general', defaultText: String(LINUXKIT_EPOCH), hashes: ['flavor', 'kernel', 'image', 'bootable'], doc: 'the mtime of everything in the initramfs, tarball, ISO and media (kernel archives: 0)' }),
  HOOK_DEBIAN_MIRROR: text({ group: 'general', defaultText: "the host's apt sources", hashes: ['bootable:rpi_firmware'], doc: 'the Debian archive mirror for the Debian base (mmdebstrap), packages and firmware' }),
  DEBIAN_BACKPORTS: yesNo('yes', { group: 'general', doc: '`no`: Debian package lookups leave out `<suite>-backports`' }),
  HOOK_REGISTRY: text({ group: 'general', doc: 'the registry `HOOK_REGISTRY_USERNAME` and `HOOK_REGISTRY_PASSWORD` log in to (pushes and pulls)' }),
  HOOK_REGISTRY_USERNAME: text({ group: 'general', doc: 'user name for `HOOK_REGISTRY`' }),
  HOOK_REGISTRY_PASSWORD: text({ group: 'general', doc: 'password for `HOOK_REGISTRY`' }),
  HOOK_INSECURE_REGISTRIES: list({ fallback: [], group: 'general', doc: 'registries (host:port) spoken to over plain HTTP' }),

  // build (HookOS)
  HOOK_VERSION: text({ fallback: '0.11.1', group: 'build', hashes: ['flavor'], doc: 'goes into `/etc/os-release`, the motd and the ISO' }),
  HOOK_INITRAMFS_COMPRESSION: choice(['zstd', 'gzip', 'none'], { fallback: 'zstd', group: 'build', hashes: ['flavor'], doc: 'how the initramfs is compressed' }),
  HOOK_INITRAMFS_LEVEL: whole({ min: 1, max: 22, group: 'build', defaultText: '19 (zstd), 9 (gzip)', hashes: ['flavor'], doc: 'the compression level (zstd 1..22, gzip 1..9; `9` for development builds)' }),
  HOOK_INITRAMFS_LONG: whole({ min: 0, max: 27, defaultText: '27 (zstd)', group: 'build', hashes: ['flavor'], doc: "zstd's long-distance window as a power of two (10..27; the kernel allocates it to unpack), `0` for none" }),
  HOOK_SIZE_BUDGET: choice(['warn', 'enforce'], { fallback: 'warn', group: 'build', hashes: ['flavor'], doc: '`enforce`: a flavor over its size budget fails the build (CI); see "Size"' }),
  OUTPUT_TARBALL_FILELIST: yesNo('no', { group: 'build', hashes: ['flavor'], doc: '`yes` also writes `hook_rootfs_<OUTPUT_ID>.tar` and a file list' }),
  LINUXKIT_ISO: yesNo('no', { group: 'build', doc: '`yes`: `hook build` builds the EFI ISO' }),
  HOOK_LINUXKIT_BACKEND: choice(['native', 'linuxkit'], { group: 'build', defaultText: 'native', hashes: ['flavor'], doc: "`linuxkit`: the `linuxkit` binary assembles the root filesystem; overrides the build target's `backend` option" }),
  LINUXKIT_BIN: path({ group: 'build', hashes: ['test'], doc: "path of the `linuxkit` binary, needed by `HOOK_LINUXKIT_BACKEND=linuxkit`; it must be the flavor's `LINUXKIT_VERSION` (default 1.8.2)" }),
  HOOK_DEBUG_SSH: path({ group: 'build', hashes: ['flavor'], doc: "an authorized_keys file: a debug HookOS that also runs sshd, root logging in with those keys only (the file's contents are hashed too)" }),
  HOOK_PULL_IMAGES: yesNo('yes', { group: 'build', doc: '`no`: the assembler takes images only from `dist/` and the local Docker engine, never from a registry' }),

  // kernel
  KERNEL_SOURCE: choice(['auto', 'kernel.org', 'mirror', 'tarball', 'debian'], { fallback: 'auto', group: 'kernel', hashes: ['kernel:default'], doc: 'where a compiled kernel\'s source comes from: `kernel.org`, `mirror` (`KERNEL_MIRROR`), `tarball` (`KERNEL_TARBALL`), `debian` (`linux-source-X.Y`); `auto` uses kernel.org when reachable, else Debian' }),
  KERNEL_MIRROR: text({ group: 'kernel', doc: 'a kernel.org mirror (same layout) for `KERNEL_SOURCE=mirror`' }),
  KERNEL_TARBALL: path({ group: 'kernel', doc: 'a `linux-X.Y.Z.tar.xz` for `KERNEL_SOURCE=tarball`' }),
  KERNEL_TARBALL_SHA256: text({ group: 'kernel', pattern: /^[0-9a-fA-F]{64}$/, patternText: 'the 64 hex digits of the tarball\'s sha256', doc: "the tarball's sha256, checked before use" }),
  KERNEL_BUILDER: choice(['container', 'host'], { group: 'kernel', defaultText: '`container` when a Docker engine answers, else `host`', hashes: ['kernel:default'], doc: "`container` builds in the Debian build image (`kernel/Dockerfile`); `host` uses the host's toolchain" }),
  KERNEL_POINT_RELEASE: whole({ min: 0, group: 'kernel', defaultText: 'the lock file', hashes: ['kernel:default'], doc: 'pins the point release of a compiled kernel' }),
  USE_LATEST_BUILT_KERNEL: yesNo('no', { group: 'kernel', hashes: ['kernel:default'], doc: '`yes`: the point release is the newest one published at `HOOK_KERNEL_OCI_BASE`' }),
  KERNEL_BUILD_JOBS: whole({ min: 1, group: 'kernel', defaultText: 'the number of CPUs', doc: "make's `-j`" }),
  CCACHE: yesNo('yes', { group: 'kernel', doc: '`no`: compile kernels without ccache' }),
  KERNEL_CCACHE_DIR: path({ group: 'kernel', defaultText: '`$CACHE_DIR/ccache`', doc: "ccache's folder" }),
  KBUILD_BUILD_TIMESTAMP: text({ group: 'kernel', hashes: ['kernel'], doc: "the build date a compiled kernel reports (kbuild's own variable)" }),
  KERNEL_DEBIAN_SUITE: text({ fallback: 'trixie', group: 'kernel', hashes: ['kernel:debian'], doc: "the Debian suite of a Debian kernel's package" }),
  ARMBIAN_KERNEL_VERSION: text({ group: 'kernel', defaultText: 'the latest tag', hashes: ['kernel:armbian'], doc: 'the Armbian kernel artifact version' }),
  ARMBIAN_BASE_ORAS_REF: text({ fallback: DEFAULT_ARMBIAN_OCI_BASE, group: 'kernel', hashes: ['kernel:armbian', 'bootable:armbian_uboot_amlogic', 'bootable:armbian_uboot_rockchip', 'bootable:armbian_uboot_rockchip_vendor'], doc: "where Armbian's kernel and u-boot artifacts are" }),
  HOOK_KERNEL_OCI_BASE: text({ fallback: DEFAULT_KERNEL_OCI_BASE, group: 'kernel', hashes: ['kernel'], doc: 'where kernel images are published' }),
  EXPORT_KERNEL_IMAGE: yesNo('no', { group: 'kernel', doc: '`yes`: save each kernel image as an OCI layout in `EXPORT_KERNEL_IMAGE_DIR`' }),
  EXPORT_KERNEL_IMAGE_DIR: path({ fallback: 'dist/kernel-images', group: 'kernel', doc: 'where `EXPORT_KERNEL_IMAGE` writes' }),
  FORCE_BUILD_KERNEL: yesNo('no', { group: 'kernel', doc: '`yes`: push a kernel image even when its tag is published' }),
  KERNEL_ORG_BASE_URL: text({ fallback: 'https://cdn.kernel.org/pub/linux/kernel', group: 'kernel', doc: "kernel.org's download tree" }),
  KERNEL_ORG_RELEASES_URL: text({ fallback: 'https://www.kernel.org/releases.json', group: 'kernel', doc: "kernel.org's list of releases" }),
  KERNEL_ORG_KEYRING: path({ fallback: 'kernel/keys/kernel-org-keys.asc', group: 'kernel', doc: 'the keys kernel.org tarballs are checked with' }),
  KERNEL_ORG_TIMEOUT_MS: whole({ min: 1, fallback: 5000, group: 'kernel', doc: 'how long `auto` waits for kernel.org before it uses Debian' }),
  KERNEL_DOWNLOAD_TIMEOUT_MS: whole({ min: 1, fallback: 1_800_000, group: 'kernel', doc: "a kernel source download's time limit" }),
  DOCKER_CHECK_CONFIG: path({ group: 'kernel', defaultText: "moby's check-config.sh", doc: 'the script `kernel-check` runs against a kernel config' }),

  // images
  HOOK_LK_CONTAINERS_OCI_BASE: text({ fallback: DEFAULT_LK_CONTAINERS_OCI_BASE, group: 'images', hashes: ['image'], doc: 'where container images are published' }),
  HOOK_DEBIAN_BASE_IMAGE: text({ group: 'images', defaultText: 'debian:trixie-slim', hashes: ['image'], doc: 'registry image for the Debian base; `none` always bootstraps from the host\'s Debian mirror' }),
  DO_PUSH: yesNo('no', { group: 'images', hashes: ['image'], doc: '`yes`: push kernels and images' }),
  DO_BUILD_LK_CONTAINERS: yesNo('yes', { group: 'images', doc: '`no`: never build images, only reuse or pull them' }),
  EXPORT_LK_CONTAINERS: yesNo('no', { group: 'images', hashes: ['image'], doc: '`yes`: save each image as `.tar.gz` in `EXPORT_LK_CONTAINERS_DIR`' }),
  EXPORT_LK_CONTAINERS_DIR: path({ fallback: '/tmp', group: 'images', hashes: ['image'], doc: 'where `EXPORT_LK_CONTAINERS` writes' }),
  DOCKER_ARCH: choice(['amd64', 'arm64'], { group: 'images', defaultText: 'host arch', doc: 'arch for `linuxkit-containers`' }),

  // bootable media
  TINK_WORKER_IMAGE: text({ fallback: DEFAULT_TINK_WORKER_IMAGE, pattern: CMDLINE_VALUE, patternText: CMDLINE_TEXT, group: 'media', hashes: ['bootable'], doc: 'the worker image on the kernel command line (media, `hook run`, `hook serve`)' }),
  TINK_SERVER: text({ pattern: CMDLINE_VALUE, patternText: CMDLINE_TEXT, group: 'media', defaultText: '`tinkerbell` on media', hashes: ['bootable'], doc: "Tinkerbell's address for `grpc_authority` and `syslog_host`; `hook run` adds the server only with it and `MAC`" }),
  TINK_TLS: choice(['true', 'false'], { fallback: 'false', group: 'media', hashes: ['bootable'], doc: '`tinkerbell_tls` on the kernel command line' }),
  TINK_INSECURE_TLS: choice(['true', 'false'], { fallback: 'false', group: 'media', doc: "`tinkerbell_insecure_tls` in Smee's script (`hook serve`, netboot)" }),
  TINK_GRPC_PORT: whole({ min: 1, max: 65535, fallback: 42113, group: 'media', hashes: ['bootable'], doc: "the port of Tinkerbell's gRPC server" }),
  WORKER_ID: text({ pattern: CMDLINE_VALUE, patternText: CMDLINE_TEXT, group: 'media', defaultText: 'the board id', hashes: ['bootable'], doc: "the medium's `worker_id` (a site sets the MAC)" }),
  BOARD: text({ group: 'media', defaultText: 'every board', hashes: ['bootable'], doc: 'which board of a bootable to write media for' }),
  CARD_DEVICE: path({ group: 'media', doc: 'a block device `hook bootable` writes the medium to (checked: not mounted, not the system disk)' }),
  HOOK_GRUB_MODULES_DIR: path({ group: 'media', hashes: ['bootable', 'iso'], doc: "a `usr/lib/grub/<platform>` folder for GRUB instead of the host's package or the one downloaded for another arch" }),
  HOOK_GRUB_DEBIAN_SUITE: text({ group: 'media', defaultText: "the host's `VERSION_CODENAME`", hashes: ['bootable', 'iso'], doc: "the Debian suite the other arch's GRUB package comes from" }),
  RPI_FIRMWARE_SUITE: text({ fallback: 'trixie', group: 'media', hashes: ['bootable:rpi_firmware'], doc: "the Debian suite of the Raspberry Pi's `raspi-firmware`" }),
  RPI_FIRMWARE_VERSION: text({ group: 'media', defaultText: 'the newest', hashes: ['bootable:rpi_firmware'], doc: "pins `raspi-firmware`'s version" }),
  UBOOT_VERSION: text({ group: 'media', defaultText: 'the latest tag', hashes: ['bootable:armbian_uboot_amlogic', 'bootable:armbian_uboot_rockchip', 'bootable:armbian_uboot_rockchip_vendor'], doc: "the Armbian u-boot artifact version" }),

  // running HookOS
  HOOK_QEMU_ACCEL: choice(['auto', 'tcg', 'kvm'], { fallback: 'auto', group: 'run', doc: '`tcg` or `kvm`; `auto` probes KVM and falls back to TCG' }),
  FIRMWARE: choice(['uefi', 'bios'], { fallback: 'uefi', valuesText: 'uefi (OVMF) or bios (SeaBIOS)', group: 'run', doc: '`hook run`: `uefi` (OVMF) or `bios` (SeaBIOS)' }),
  NETBOOT: yesNo('no', { group: 'run', doc: '`yes`: `hook run` boots through iPXE with Smee\'s script' }),
  MAC: text({ pattern: /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, patternText: 'a MAC address like 52:54:00:12:34:56', group: 'run', doc: "the guest's MAC address (`hook run`), the `worker_id`" }),
  LISTEN: text({ group: 'run', doc: '`hook serve`: the `address:port` to serve on' }),
  FACILITY: text({ fallback: 'onprem', group: 'run', doc: "`hook serve`'s and netboot's `facility`" }),
  VLAN_ID: whole({ min: 1, max: 4094, group: 'run', doc: "`hook serve`'s and netboot's `vlan_id`" }),

  // CI
  CI_TAGS: list({ fallback: ['standard', 'dev', 'armbian-sbc', 'armbian-uefi'], group: 'ci', doc: '`gha-matrix`: flavors with any of these tags' }),
  CI_RUNNER: text({ group: 'ci', defaultText: '`ubuntu-latest`, `ubuntu-24.04-arm`', doc: '`gha-matrix` runners; also `CI_RUNNER_<ARCH>`, `CI_RUNNER_<TYPE>[_<ARCH>]`, `CI_RUNNER_KERNEL_<KTYPE>[_<ARCH>]`, most specific first' }),
  CI_RUNNERS_SELF_HOSTED_TAG: text({ fallback: 'self-hosted', group: 'ci', doc: 'label added to runners that do not start with `ubuntu-`; `none` adds nothing' }),

  // tests
  HOOK_TEST_ARM64: yesNo('no', { group: 'test', hashes: ['test'], doc: '`yes`: the arm64 boots and media (hook-debian-arm64 built)' }),
  HOOK_TEST_CROSS_ARM64: yesNo('no', { group: 'test', hashes: ['test'], doc: '`yes`: the arm64 cross-compiled kernel test' }),
  HOOK_TEST_DEFAULT_KERNEL: yesNo('no', { group: 'test', hashes: ['test'], doc: "`yes`: the full build of hook-default's kernel" }),
  HOOK_TEST_MEMORY_FLOOR: yesNo('no', { group: 'test', hashes: ['test'], doc: '`yes`: the boots at the measured memory floors' }),
  HOOK_TEST_MEMORY_MB: whole({ min: 128, group: 'test', hashes: ['test'], doc: 'the memory floor boots at this size instead' }),
  HOOK_TEST_KERNEL: path({ group: 'test', hashes: ['test'], doc: "a vmlinuz for the QEMU library's tests instead of Debian's" }),
  HOOK_TEST_TIME_LIMIT: whole({ min: 1, group: 'test', defaultText: '25 (`kernel` 45, `boot-test` 60)', doc: "minutes a project's tests may take before the watchdog stops them (read by tools/jest/watchdog.js)" }),
  HOOK_TEST_EXIT_GRACE: whole({ min: 1, fallback: 30, group: 'test', doc: 'seconds Jest may take to exit after its run (read by tools/jest/watchdog.js)' }),
  HOOK_TEST_PARALLEL: whole({ min: 1, fallback: 2, group: 'test', doc: 'how many projects `scripts/test.sh` tests at once (read by the script)' }),
  HOOK_TEST_CACHE: path({ fallback: '/tmp/hook-test-cache', group: 'test', doc: 'downloads the tests keep between runs' }),
} as const;

export type SettingName = keyof typeof SETTINGS;
