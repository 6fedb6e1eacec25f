#!/usr/bin/env bash
# Kernel benchmark (prints figures; not a test). See bench/kernel.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
SWC_NODE_PROJECT=tsconfig.base.json exec node -r @swc-node/register bench/kernel.ts "$@"
