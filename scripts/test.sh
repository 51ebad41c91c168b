#!/usr/bin/env bash
# The whole test suite: what the README's test command and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-deps.sh redis chromium net
pnpm exec turbo run build typecheck
pnpm exec biome ci .
pnpm exec vitest run
node scripts/packaging-check.mjs
