#!/usr/bin/env bash
# The test command (README): installs what the tests need, starts a Docker engine if none is
# running (and stops it afterwards), runs every project's lint and test targets through Nx, and
# prints one total line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
# Stop afterwards only an engine this run started: another build may be using a running one.
if ! docker version >/dev/null 2>&1; then
  bash scripts/dockerd.sh start
  trap 'bash scripts/dockerd.sh stop' EXIT
fi

rm -rf coverage
status=0
npx nx run-many -t lint test --parallel="${HOOK_TEST_PARALLEL:-2}" --outputStyle=static "$@" || status=$?

node -e '
  const fs = require("fs"), path = require("path");
  const total = { passed: 0, failed: 0, skipped: 0, suitesFailed: 0 };
  const failures = [];
  const walk = (d) => { for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name === "test-summary.json") { const s = JSON.parse(fs.readFileSync(p)); for (const k in total) total[k] += s[k]; failures.push(...(s.failures || [])); }
  } };
  walk("coverage");
  for (const f of failures) console.log(`FAILED ${f.file}\n${f.message.replace(/^/gm, "  ")}`);
  console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped${total.suitesFailed ? `, ${total.suitesFailed} suites failed` : ""}`);
  if (total.failed + total.suitesFailed > 0) process.exitCode = 1;
' || status=1
exit "$status"
