import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.js";
import {
  cli,
  INSTALL_HINT,
  pollUntil,
  type RedisProcess,
  redisSentinelAvailability,
  startProcess,
} from "./redis-sentinel.js";
import type { Availability } from "./system.js";

const run = promisify(execFile);

/** Whether `redis-server` and `redis-cli` (for `--cluster create`) are on PATH. */
export function redisClusterAvailability(): Availability {
  // The Sentinel check covers both programs (and redis-sentinel, from the same packages).
  return redisSentinelAvailability();
}

/** One node of the cluster: a loopback redis-server, stoppable by PID. */
export interface ClusterNodeProcess extends RedisProcess {
  /** `host:port`, as CLUSTER NODES and ioredis's slot table spell it. */
  readonly address: string;
}

/** A Redis Cluster of masters, each with its replicas, on free loopback ports. */
export interface RedisCluster {
  /** Startup nodes for ioredis's `new Cluster(...)`: every node's address. */
  readonly startupNodes: readonly { readonly host: string; readonly port: number }[];
  /** Every node the cluster started with, masters and replicas. */
  readonly nodes: readonly ClusterNodeProcess[];
  /** The cluster's `cluster-node-timeout`, in milliseconds. */
  readonly nodeTimeoutMs: number;
  /** The node currently serving `key`'s slot as master (asks the live nodes). */
  masterOf(key: string): Promise<ClusterNodeProcess>;
  /**
   * Resolves with the new master once `key`'s slot is served by a master other than
   * `formerPort` and the live nodes report `cluster_state:ok`; polls, bounded by `timeoutMs`.
   */
  waitForFailover(key: string, formerPort: number, timeoutMs: number): Promise<ClusterNodeProcess>;
  /** Kills every process by PID and removes the directory. */
  dispose(): Promise<void>;
}

export interface RedisClusterOptions {
  /** @default 3 */
  readonly masters?: number;
  /** Replicas per master. @default 1 */
  readonly replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a silent master takes to be flagged failing, after
   * which a replica is elected in its place.
   * @default 1000
   */
  readonly nodeTimeoutMs?: number;
}

interface NodeLine {
  readonly address: string;
  readonly master: boolean;
  readonly alive: boolean;
  readonly slots: readonly (readonly [number, number])[];
}

/** Parses CLUSTER NODES: `<id> <ip:port@cport> <flags> <master> ... <slot ranges>`. */
function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => {
      const fields = line.split(" ");
      const flags = (fields[2] ?? "").split(",");
      const slots = fields
        .slice(8)
        .filter((s) => /^\d+(-\d+)?$/.test(s))
        .map((s) => {
          const [from, to] = s.split("-").map(Number);
          return [from ?? 0, to ?? from ?? 0] as const;
        });
      return {
        address: (fields[1] ?? "").split("@")[0] ?? "",
        master: flags.includes("master"),
        alive: !flags.includes("fail") && !flags.includes("fail?"),
        slots,
      };
    });
}

/**
 * Starts `masters x (1 + replicasPerMaster)` redis-servers with `--cluster-enabled yes`,
 * joins them with `redis-cli --cluster create --cluster-replicas`, and waits until every
 * node reports `cluster_state:ok` and every replica finished its first sync. Nothing
 * persists: a killed node keeps nothing, and its replica takes its slots over.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masterCount = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const dir = await mkdtemp(join(tmpdir(), "lifeline-cluster-"));
  const nodes: ClusterNodeProcess[] = [];
  async function dispose() {
    await Promise.all(nodes.map((n) => n.kill()));
    await rm(dir, { recursive: true, force: true });
  }
  try {
    for (let i = 0; i < masterCount * (1 + replicas); i++) {
      const port = await freePort();
      const nodeDir = join(dir, String(port));
      await mkdir(nodeDir);
      const args = [
        ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        ...["--dir", nodeDir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
        ...["--cluster-node-timeout", String(nodeTimeoutMs)],
      ];
      const proc = await startProcess("redis-server", args, /Ready to accept/, port);
      nodes.push({ ...proc, address: `127.0.0.1:${port}` });
    }
    try {
      await run(
        "redis-cli",
        [
          ...["--cluster", "create", ...nodes.map((n) => n.address)],
          ...["--cluster-replicas", String(replicas), "--cluster-yes"],
        ],
        { timeout: 30_000 },
      );
    } catch (error) {
      throw new Error(`redis-cli --cluster create failed (${String(error)}): ${INSTALL_HINT}`);
    }
    const ready = async (node: ClusterNodeProcess) => {
      const info = await cli(node.port, "CLUSTER", "INFO");
      if (!info.includes("cluster_state:ok")) return false;
      const replication = await cli(node.port, "INFO", "replication");
      // A replica counts once its link to the master is up (first sync done).
      return replication.includes("role:master") || replication.includes("master_link_status:up");
    };
    await pollUntil(
      async () => (await Promise.all(nodes.map(ready))).every(Boolean),
      "every cluster node to report cluster_state:ok and every replica to sync",
      20_000,
    );

    async function liveView(): Promise<NodeLine[]> {
      for (const node of nodes) {
        const text = await cli(node.port, "CLUSTER", "NODES").catch(() => undefined);
        if (text !== undefined) return parseNodes(text);
      }
      throw new Error("no cluster node answered CLUSTER NODES");
    }
    async function slotOf(key: string): Promise<number> {
      for (const node of nodes) {
        const reply = await cli(node.port, "CLUSTER", "KEYSLOT", key).catch(() => undefined);
        if (reply !== undefined) return Number(reply.trim());
      }
      throw new Error("no cluster node answered CLUSTER KEYSLOT");
    }
    function byAddress(address: string): ClusterNodeProcess {
      const node = nodes.find((n) => n.address === address);
      if (node === undefined) throw new Error(`${address} is not a node of this cluster`);
      return node;
    }
    async function masterOf(key: string): Promise<ClusterNodeProcess> {
      const slot = await slotOf(key);
      const owner = (await liveView()).find(
        (n) => n.master && n.alive && n.slots.some(([from, to]) => slot >= from && slot <= to),
      );
      if (owner === undefined) throw new Error(`no live master serves slot ${slot}`);
      return byAddress(owner.address);
    }
    return {
      startupNodes: nodes.map((n) => ({ host: "127.0.0.1", port: n.port })),
      nodes,
      nodeTimeoutMs,
      masterOf,
      async waitForFailover(key, formerPort, timeoutMs) {
        let promoted: ClusterNodeProcess | undefined;
        await pollUntil(
          async () => {
            const owner = await masterOf(key);
            if (owner.port === formerPort) return false;
            const info = await cli(owner.port, "CLUSTER", "INFO");
            if (!info.includes("cluster_state:ok")) return false;
            promoted = owner;
            return true;
          },
          `a replica to take over the slot of "${key}" from port ${formerPort}`,
          timeoutMs,
        );
        if (promoted === undefined) throw new Error("fail-over finished without a master");
        return promoted;
      },
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
