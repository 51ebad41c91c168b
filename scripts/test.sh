#!/usr/bin/env bash
# The whole test suite: what the README's test command and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-deps.sh redis chromium tmux net
pnpm exec turbo run build typecheck
# The suites under test/ span packages and are not workspace packages: type-check them here.
for project in test/*/tsconfig.json; do pnpm exec tsc -p "$project"; done
pnpm exec biome ci .
# Every pending changeset parses, and `changeset version` would give the intended versions.
pnpm exec changeset status
node scripts/changeset-dry-run.mjs
pnpm exec vitest run
node scripts/packaging-check.mjs
