#!/usr/bin/env bash
# No-op `nx run` of a kernel (nothing changed: a cache hit), median of RUNS runs, with the Nx
# daemon on (as on a workstation) and off (as in CI). Target: under 2 s.
# Build the kernel once first. Usage: bash bench/kernel-noop.sh [KERNEL_PROJECT] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
project=${1:-kernel-hook-debian-amd64}
runs=${2:-5}
export NX_NO_CLOUD=true NX_TUI=false

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_once() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc -l; }

NX_DAEMON=false npx nx run "$project:build" >/dev/null 2>&1 # make sure it is built and cached
off=$(for _ in $(seq "$runs"); do time_once env NX_DAEMON=false npx nx run "$project:build"; done | median)
NX_DAEMON=true npx nx daemon --start >/dev/null 2>&1 || true
NX_DAEMON=true npx nx run "$project:build" >/dev/null 2>&1
on=$(for _ in $(seq "$runs"); do time_once env NX_DAEMON=true npx nx run "$project:build"; done | median)
NX_DAEMON=true npx nx daemon --stop >/dev/null 2>&1 || true
printf 'no-op nx run %s:build: %.2f s with the daemon, %.2f s without (median of %d); target < 2 s: %s with the daemon, %s without\n' \
  "$project" "$on" "$off" "$runs" \
  "$(echo "$on < 2" | bc -l | sed 's/1/met/;s/0/NOT met/')" "$(echo "$off < 2" | bc -l | sed 's/1/met/;s/0/NOT met/')"
