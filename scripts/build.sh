#!/usr/bin/env bash
# The main job (README quick start): installs what the build needs, starts a Docker engine if
# none is running, then runs `./hook build` with the given arguments (default: the Debian-kernel
# flavor for this machine, which needs neither kernel.org nor a long kernel compile).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/dockerd.sh start
if [ "$#" -eq 0 ]; then
  case "$(uname -m)" in
    aarch64 | arm64) set -- build hook-debian-arm64 ;;
    *) set -- build hook-debian-amd64 ;;
  esac
fi
exec ./hook "$@"
