#!/usr/bin/env bash
# Foundation benchmark (prints figures; not a test).
#  1. `./hook gha-matrix` wall time, median of RUNS runs, against upstream's bash gha-matrix
#     (0.29 s measured on this kind of machine, shared/reference/findings.md; or measured now
#     when UPSTREAM_HOOK_DIR points at a checkout of the original). Target: < 0.25 s.
#  2. `npx nx show projects` with the daemon off, this workspace vs the same workspace without
#     the Hook plugin (Nx alone). Target: at most 1 s more.
# Usage: bash bench/foundation.sh [RUNS]   (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_once() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
time_runs() { for _ in $(seq "$runs"); do time_once "$@"; done | median; }

./hook gha-matrix >/dev/null 2>&1 # build the CLI bundle once
hook_s=$(time_runs env CI_TAGS= ./hook gha-matrix)
if [ -n "${UPSTREAM_HOOK_DIR:-}" ]; then
  upstream_s=$(cd "$UPSTREAM_HOOK_DIR" && time_runs bash build.sh gha-matrix)
  upstream_note="measured now in $UPSTREAM_HOOK_DIR"
else
  upstream_s=0.29
  upstream_note="findings.md figure"
fi
printf 'gha-matrix: hook %.3f s (median of %d), upstream bash %.3f s (%s), ratio %.2fx faster; target < 0.25 s: %s\n' \
  "$hook_s" "$runs" "$upstream_s" "$upstream_note" "$(echo "$upstream_s / $hook_s" | bc -l)" \
  "$(echo "$hook_s < 0.25" | bc -l | sed 's/1/met/;s/0/NOT met/')"

# Nx alone: a copy of this workspace whose nx.json lists no Hook plugin.
plain=$(mktemp -d)
trap 'rm -rf "$plain"' EXIT
git ls-files -z | xargs -0 -I{} cp --parents {} "$plain" 2>/dev/null || true
ln -s "$PWD/node_modules" "$plain/node_modules"
node -e '
  const f = process.argv[1]; const j = JSON.parse(require("fs").readFileSync(f));
  j.plugins = j.plugins.filter((p) => (p.plugin || p) !== "@hook/nx-plugin");
  require("fs").writeFileSync(f, JSON.stringify(j, null, 2));
' "$plain/nx.json"
export NX_DAEMON=false NX_NO_CLOUD=true
with_s=$(time_runs npx nx show projects)
without_s=$(cd "$plain" && time_runs npx nx show projects)
printf 'nx show projects (daemon off): with the Hook plugin %.2f s, Nx alone %.2f s (median of %d), plugin cost %.2f s; target <= 1 s: %s\n' \
  "$with_s" "$without_s" "$runs" "$(echo "$with_s - $without_s" | bc -l)" \
  "$(echo "$with_s - $without_s <= 1" | bc -l | sed 's/1/met/;s/0/NOT met/')"
