#!/usr/bin/env bash
# Runs one vitest file N times in a row and counts the passing runs: for flakiness hunts
# by hand (not part of the test command). Usage: scripts/repeat-test.sh <project> <file> [N=20]
set -u
cd "$(dirname "$0")/.."
project=$1
file=$2
runs=${3:-20}
passed=0
for ((i = 1; i <= runs; i++)); do
  if pnpm exec vitest run --project "$project" "$file" >"/tmp/repeat-test.$i.log" 2>&1; then
    passed=$((passed + 1))
    echo "run $i: passed"
  else
    echo "run $i: FAILED (log: /tmp/repeat-test.$i.log)"
  fi
done
echo "$passed/$runs passed"
[ "$passed" -eq "$runs" ]
