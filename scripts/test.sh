#!/usr/bin/env bash
# The test command (README): installs what the tests need, starts a Docker engine if none is
# running (and stops it afterwards), runs every project's lint and test targets through Nx, and
# prints one total line. `--arm64` runs only the opt-in arm64 boots instead (README: arm64):
# hook-debian-arm64 and its ISO are built first, then booted under qemu-system-aarch64.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
# The default flavor the boot tests build must stay within its size budget (README: Size).
export HOOK_SIZE_BUDGET="${HOOK_SIZE_BUDGET:-enforce}"
# Stop afterwards only an engine this run started: another build may be using a running one.
if ! docker version >/dev/null 2>&1; then
  bash scripts/dockerd.sh start
  trap 'bash scripts/dockerd.sh stop' EXIT
fi

rm -rf coverage
nx_log=$(mktemp /tmp/hook-test-nx-XXXXXX.log)
set +e
if [ "${1:-}" = --arm64 ]; then
  shift
  npx nx run boot-test:test-arm64 --outputStyle=static "$@" 2>&1 | tee "$nx_log"
  status=${PIPESTATUS[0]}
elif [ "$#" -gt 0 ]; then
  npx nx run-many -t lint test --parallel="${HOOK_TEST_PARALLEL:-2}" --outputStyle=static "$@" 2>&1 | tee "$nx_log"
  status=${PIPESTATUS[0]}
else
  # Two streams once the flavor the boot tests boot is built: the boot tests (QEMU boots under
  # TCG, one after the other, about a third of the work) and then `after_boot`, beside every other
  # project one at a time (kernel's compiles are the longest of those). The split keeps the two
  # about even: a fresh-clone run took 33 min for the boot tests and 60 for the other stream
  # before hook-cli and remote-cache moved. The first stream's output follows at the end.
  after_boot=hook-cli,remote-cache
  npx nx run-many -t build lint -p hook-debian-amd64,boot-test --outputStyle=static 2>&1 | tee "$nx_log"
  status=${PIPESTATUS[0]}
  boot_log=$(mktemp /tmp/hook-test-boot-XXXXXX.log)
  (
    npx nx run-many -t test -p boot-test --excludeTaskDependencies --outputStyle=static
    boot_status=$?
    npx nx run-many -t lint test -p "$after_boot" --parallel=1 --outputStyle=static || exit 1
    exit "$boot_status"
  ) >"$boot_log" 2>&1 &
  boot_pid=$!
  npx nx run-many -t lint test --exclude="boot-test,$after_boot" --parallel=1 --outputStyle=static 2>&1 | tee -a "$nx_log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  wait "$boot_pid" || status=1
  tee -a "$nx_log" <"$boot_log"
  rm -f "$boot_log"
fi
set -e
# Nx's list of failed tasks, repeated last: a task can fail with every test passed (a lint error,
# a crashed Jest process), and the totals below would not show it.
if [ "$status" -ne 0 ]; then
  echo "failed tasks:"
  # The list ends at its first line that is neither blank nor "- task" (Nx lists the projects it
  # runs with the same dashes, and those are not failures).
  sed 's/\x1b\[[0-9;]*m//g' "$nx_log" | awk '/Failed tasks:/ { listed = 1; next } listed && /^- / { print "  " $0; next } listed && !/^[[:space:]]*$/ { listed = 0 }'
  # A project the watchdog stopped wrote no test counts: its line says why.
  grep -E '^watchdog: [^:]+: (did not finish|its tests completed)' "$nx_log" | sed 's/^/  /' || true
fi
rm -f "$nx_log"

node -e '
  const fs = require("fs"), path = require("path");
  const total = { passed: 0, failed: 0, skipped: 0, suitesFailed: 0 };
  const failures = [], skipped = [];
  const walk = (d) => { for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name === "test-summary.json") { const s = JSON.parse(fs.readFileSync(p)); for (const k in total) total[k] += s[k]; failures.push(...(s.failures || [])); skipped.push(...(s.skippedTests || [])); }
  } };
  walk("coverage");
  for (const name of skipped) console.log(`skipped: ${name}`);
  for (const f of failures) console.log(`FAILED ${f.file}\n${f.message.replace(/^/gm, "  ")}`);
  console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped${total.suitesFailed ? `, ${total.suitesFailed} suites failed` : ""}`);
  if (total.failed + total.suitesFailed > 0) process.exitCode = 1;
' || status=1
exit "$status"
