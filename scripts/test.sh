#!/usr/bin/env bash
# The whole test suite: what the README's test command and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-deps.sh redis chromium tmux python net
# typecheck covers the suites under test/ too: each is a workspace package.
pnpm exec turbo run build typecheck
pnpm exec biome ci .
# The API reference builds without a single warning (an undocumented export, a broken link).
node scripts/docs.mjs
# Every pending changeset parses, and `changeset version` would give the intended versions.
pnpm exec changeset status
node scripts/changeset-dry-run.mjs
pnpm exec vitest run
node scripts/packaging-check.mjs
