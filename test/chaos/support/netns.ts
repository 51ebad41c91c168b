import { execFileSync } from "node:child_process";
import type { Availability } from "@lifeline/test-support";

/**
 * A network namespace joined to the host by a veth pair, for real packet faults: nftables
 * drop and random loss (`numgen random mod 100 < N`), iptables random loss (`-m statistic`),
 * and `tc tbf` rate limits. This
 * kernel has no netem, so there is no delay or reordering qdisc; the TCP proxy covers those.
 *
 * Addresses: the host end is 10.<net>.<sub>.1/29; the namespace end has two addresses,
 * `primary` (.2) and `secondary` (.3), so faults can hit one while the other stays clean.
 */
export interface Netns {
  readonly name: string;
  readonly host: string;
  readonly primary: string;
  readonly secondary: string;
  /** Drops every packet to and from `address` inside the namespace (both sides keep waiting). */
  blackhole(address: string): void;
  /**
   * Drops every packet between the namespace and TCP port `port` of `remote` (a partition
   * from one service while everything else gets through); neither side is told.
   */
  cutOffFrom(remote: string, port: number): void;
  /**
   * Drops `percent`% of TCP packets in each direction, chosen at random per packet, with
   * nftables (`numgen random`) or iptables (`-m statistic --mode random`).
   */
  randomLoss(percent: number, tool?: "nft" | "iptables"): void;
  /** Removes every nftables rule this helper added. */
  clearFilters(): void;
  /** Limits what leaves the namespace (server -> client) with a token bucket filter. */
  rateLimit(rate: string, burst: string): void;
  clearRateLimit(): void;
  /** Deletes the namespace and the veth pair (by name). */
  destroy(): void;
}

function run(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function quiet(command: string, args: readonly string[]): void {
  try {
    run(command, args);
  } catch {
    // Cleanup of something that is not there.
  }
}

/** Whether this process may create namespaces, and if not, why. */
export function netnsSupport(): Availability {
  if (process.platform !== "linux") return { ok: false, reason: "network namespaces need Linux" };
  if (process.getuid?.() !== 0) {
    return { ok: false, reason: "creating network namespaces and veth pairs needs root" };
  }
  for (const tool of ["ip", "nft", "iptables", "tc"]) {
    try {
      run("sh", ["-c", `command -v ${tool}`]);
    } catch {
      return {
        ok: false,
        reason: `${tool} is not installed (bash scripts/ensure-system-deps.sh net)`,
      };
    }
  }
  const probe = `llprobe${process.pid}`;
  try {
    run("ip", ["netns", "add", probe]);
    run("ip", ["netns", "del", probe]);
  } catch (error) {
    return { ok: false, reason: `ip netns add failed: ${(error as Error).message.split("\n")[0]}` };
  }
  return { ok: true };
}

/**
 * Creates namespace `llchaos-<tag>` with veth `llh<tag>` (host) / `lln<tag>` (namespace).
 * `tag` is short (interface names hold 15 bytes) and unique per test file and run; `sub` picks
 * the /29. Leftovers of an earlier crashed run with the same names are removed first.
 */
export function createNetns(tag: string, sub: number): Netns {
  const name = `llchaos-${tag}`;
  const hostIf = `llh${tag}`;
  const nsIf = `lln${tag}`;
  const base = `10.213.${sub}`;
  const host = `${base}.1`;
  const primary = `${base}.2`;
  const secondary = `${base}.3`;
  const inNs = (command: string, args: readonly string[]) =>
    run("ip", ["netns", "exec", name, command, ...args]);

  const destroy = () => {
    quiet("ip", ["link", "del", hostIf]);
    quiet("ip", ["netns", "del", name]);
  };
  destroy();
  try {
    run("ip", ["netns", "add", name]);
    run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", nsIf]);
    run("ip", ["link", "set", nsIf, "netns", name]);
    run("ip", ["addr", "add", `${host}/29`, "dev", hostIf]);
    run("ip", ["link", "set", hostIf, "up"]);
    inNs("ip", ["addr", "add", `${primary}/29`, "dev", nsIf]);
    inNs("ip", ["addr", "add", `${secondary}/29`, "dev", nsIf]);
    inNs("ip", ["link", "set", nsIf, "up"]);
    inNs("ip", ["link", "set", "lo", "up"]);
    inNs("nft", ["add", "table", "inet", "llchaos"]);
    inNs("nft", [
      "add chain inet llchaos in { type filter hook input priority 0; policy accept; }",
    ]);
    inNs("nft", [
      "add chain inet llchaos out { type filter hook output priority 0; policy accept; }",
    ]);
  } catch (error) {
    destroy();
    throw error;
  }

  return {
    name,
    host,
    primary,
    secondary,
    blackhole(address) {
      inNs("nft", [`add rule inet llchaos in ip daddr ${address} drop`]);
      inNs("nft", [`add rule inet llchaos out ip saddr ${address} drop`]);
    },
    cutOffFrom(remote, port) {
      inNs("nft", [`add rule inet llchaos out ip daddr ${remote} tcp dport ${port} drop`]);
      inNs("nft", [`add rule inet llchaos in ip saddr ${remote} tcp sport ${port} drop`]);
    },
    randomLoss(percent, tool = "nft") {
      const p = Math.max(0, Math.min(100, Math.round(percent)));
      if (tool === "iptables") {
        for (const chain of ["INPUT", "OUTPUT"]) {
          inNs("iptables", [
            "-A",
            chain,
            "-p",
            "tcp",
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            String(p / 100),
            "-j",
            "DROP",
          ]);
        }
        return;
      }
      inNs("nft", [`add rule inet llchaos in meta l4proto tcp numgen random mod 100 < ${p} drop`]);
      inNs("nft", [`add rule inet llchaos out meta l4proto tcp numgen random mod 100 < ${p} drop`]);
    },
    clearFilters() {
      inNs("nft", ["flush", "chain", "inet", "llchaos", "in"]);
      inNs("nft", ["flush", "chain", "inet", "llchaos", "out"]);
      inNs("iptables", ["-F", "INPUT"]);
      inNs("iptables", ["-F", "OUTPUT"]);
    },
    rateLimit(rate, burst) {
      inNs("tc", [
        "qdisc",
        "replace",
        "dev",
        nsIf,
        "root",
        "tbf",
        "rate",
        rate,
        "burst",
        burst,
        "latency",
        "200ms",
      ]);
    },
    clearRateLimit() {
      try {
        inNs("tc", ["qdisc", "del", "dev", nsIf, "root"]);
      } catch {
        // No qdisc set.
      }
    },
    destroy,
  };
}
