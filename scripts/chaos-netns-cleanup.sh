#!/usr/bin/env bash
# Removes network namespaces and veth pairs left behind by test/chaos/network-netns.test.ts
# when a run was killed before its afterAll (names: llchaos-<tag>, llh<tag>, lln<tag>).
# Touches nothing else. Needs root.
set -euo pipefail
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^llchaos-' || true); do
  ip netns del "$ns" && echo "removed namespace $ns"
done
for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^llh[0-9]+$' || true); do
  ip link del "$link" && echo "removed veth $link"
done
