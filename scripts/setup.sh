#!/usr/bin/env bash
# Installs what building and testing Hook needs on a Debian/Ubuntu host (as root, or with sudo):
# Debian packages, then the npm packages (npm ci). Safe to run again: it installs only what is
# missing. Used by the README's two quick-start commands.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, and why:
#   docker.io             the Docker engine that builds the container images (and docker-cli on trixie);
#                         its contrib/check-config.sh for the kernel config check
#   docker-registry       a real OCI registry on loopback for the registry/Armbian tests
#   apache2-utils         htpasswd, for the registry auth tests
#   qemu-system-x86/-arm, ovmf, qemu-efi-aarch64   booting kernels, initramfs and ISOs
#   ipxe-qemu seabios     the NIC's iPXE ROMs and the BIOS: hook run NETBOOT=yes and the netboot
#                         tests boot HookOS through iPXE with Smee's script (BIOS and UEFI)
#   bsdutils              script(1): the hook run test types into a pseudo-terminal
#   zstd xz-utils cpio    compression filters; cpio to check initramfs files in tests
#   xorriso mtools dosfstools grub-efi-<host arch>-bin grub-common   the EFI ISO
#   busybox-static kmod   tiny test initramfs; depmod for trimmed Debian kernels
#   gpg gpgv              kernel.org signature verification
#   build-essential bc bison flex libssl-dev libelf-dev ccache dpkg-dev   building kernels on the host
#   gcc-aarch64-linux-gnu (on amd64 hosts)   cross-building arm64 kernels
#   mmdebstrap            bootstrapping the Debian base image without any registry
#   arch-test             mmdebstrap checks with it that the other arch's binaries run (arm64 on amd64)
#   qemu-user-static binfmt-support   building images of the other arch (arm64 on amd64): mmdebstrap
#                         and Dockerfile RUN steps run through qemu-user, registered in binfmt_misc
#                         with the F flag so it works inside containers
#   dnsmasq-base iproute2 a DHCP server on a VLAN in a test network namespace (HookOS boot tests)
#   jq                    HookOS's init scripts read runtime.json with it; their unit tests run them here
#   shellcheck            lints HookOS's shell scripts (containers:lint, scripts/shellcheck.sh)
#   curl                  probing the registries a worker boot test runs inside its namespace
#   faketime              the reproducibility test builds with the clock a day ahead
#   u-boot-qemu           u-boot for QEMU's arm64 virt machine: the u-boot extlinux medium boot test
#   u-boot-tools          mkimage: boot.scr of u-boot media (UBOOT_TYPE bootscript)
#   chromium              headless, opens the flavor's report page (dist/hook/report-*.html) in a test
#   fdisk mount e2fsprogs sfdisk writes bootable media's partition tables on the image file; the
#                         CARD_DEVICE tests use a loop device (losetup) with an ext4 file system
packages=(
  docker.io docker-registry apache2-utils
  qemu-system-x86 qemu-system-arm ovmf qemu-efi-aarch64
  ipxe-qemu seabios bsdutils
  zstd xz-utils cpio
  xorriso mtools dosfstools "grub-efi-$(dpkg --print-architecture)-bin" grub-common
  busybox-static kmod gpg gpgv
  build-essential bc bison flex libssl-dev libelf-dev ccache dpkg-dev
  mmdebstrap arch-test qemu-user-static binfmt-support
  dnsmasq-base iproute2 curl jq openssl shellcheck
  faketime
  u-boot-qemu u-boot-tools
  fdisk mount e2fsprogs
  chromium
)

[ "$(dpkg --print-architecture)" = amd64 ] && packages+=(gcc-aarch64-linux-gnu)

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20.19 is needed (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if [ ! -d node_modules/nx ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
