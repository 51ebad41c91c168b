#!/usr/bin/env bash
# Installs the system programs the test suite drives for real (redis-server, redis-sentinel
# and redis-cli for the Sentinel and Redis Cluster tests and `pnpm demo:cluster`, chromium,
# tmux for the CLI's monitor test, python3 for the independent protocol peer, and for the
# network-fault tests ip/iptables/nft/tc) when they are missing. Uses Debian's packages;
# needs root (or passwordless sudo).
# Usage: scripts/ensure-system-deps.sh [redis] [chromium] [tmux] [python] [net]   (no argument: all)
set -euo pipefail
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(redis chromium tmux python net)

missing=()
for w in "${wanted[@]}"; do
  case "$w" in
    redis)
      command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
      command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
      command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
      ;;
    chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
    tmux) command -v tmux >/dev/null 2>&1 || missing+=(tmux) ;;
    python) command -v python3 >/dev/null 2>&1 || missing+=(python3) ;;
    net)
      command -v ip >/dev/null 2>&1 || missing+=(iproute2)
      command -v iptables >/dev/null 2>&1 || missing+=(iptables)
      command -v nft >/dev/null 2>&1 || missing+=(nftables)
      ;;
    *) echo "ensure-system-deps: unknown dependency '$w'" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo -n); else
    echo "ensure-system-deps: need root to install ${missing[*]} (apt-get)" >&2; exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-system-deps: install ${missing[*]} with your package manager" >&2; exit 1
fi
echo "ensure-system-deps: installing ${missing[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
