#!/usr/bin/env bash
# All container images, warm (nothing changed), for DOCKER_ARCH (default amd64): prints the wall
# time of building every image project (median of RUNS runs), once answered by Nx's cache and
# once with the cache skipped (each image found up to date in dist/). Target: under 5 s.
# Build the images once first (./hook linuxkit-containers). Usage: bash bench/images-warm.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
arch=${DOCKER_ARCH:-amd64}
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_once() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
count=$(npx nx show projects --projects='tag:hook:image' --json | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)')

npx nx run-many -t "build-$arch" --projects='tag:hook:image' >/dev/null 2>&1 # warm up: everything built and cached
cached=$(for _ in $(seq "$runs"); do time_once npx nx run-many -t "build-$arch" --projects='tag:hook:image'; done | median)
dist=$(for _ in $(seq "$runs"); do time_once npx nx run-many -t "build-$arch" --projects='tag:hook:image' --skip-nx-cache; done | median)
printf 'all %d images (%s), warm: %.2f s from the Nx cache, %.2f s with the cache skipped (up to date in dist/), median of %d; target < 5 s: %s\n' \
  "$count" "$arch" "$cached" "$dist" "$runs" "$(echo "$cached < 5" | bc -l | sed 's/1/met/;s/0/NOT met/')"
