import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A first port with `count` consecutive free ports (bounded search). */
async function consecutiveFreePorts(count: number): Promise<number> {
  for (let tries = 0; tries < 50; tries += 1) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    let free = true;
    for (let i = 0; i < count && free; i += 1) free = await portFree(base + i);
    if (free) return base;
  }
  throw new Error("no consecutive free ports found");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `/health` of the node on `port` once it answers 200, or its last status after 15 s: a node
 * that does not produce may still be connecting to Redis (through Sentinel, or a cluster)
 * when the producer is elected.
 */
async function healthStatus(port: number): Promise<number> {
  let status = 0;
  for (let i = 0; i < 150 && status !== 200; i += 1) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    status = (await fetch(`http://127.0.0.1:${port}/health`)).status;
  }
  return status;
}

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
});

/**
 * `pnpm demo:cluster`'s script in each Redis deployment: Redis + nodes up, one producer,
 * the nodes naming the deployment and its master(s), Ctrl-C or SIGTERM stops all by PID.
 */
describe.each([
  { args: [], mode: "single", redisProcesses: 1, masters: 1, signal: "SIGINT" },
  { args: ["--sentinel"], mode: "sentinel", redisProcesses: 5, masters: 1, signal: "SIGTERM" },
  { args: ["--redis-cluster"], mode: "cluster", redisProcesses: 6, masters: 3, signal: "SIGINT" },
] as const)("scripts/demo-cluster.mjs $args", ({ args, mode, redisProcesses, masters, signal }) => {
  it(`starts ${mode} Redis and the nodes, elects one producer, and stops everything on ${signal}`, async () => {
    const base = await consecutiveFreePorts(2);
    const child = spawn(process.execPath, ["scripts/demo-cluster.mjs", ...args], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? "",
        DEMO_CLUSTER_PORT: String(base),
        DEMO_CLUSTER_NODES: "2",
        DEMO_CLUSTER_FROM_SOURCE: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    started.push(child.pid ?? 0);
    const exited = once(child, "exit");
    let out = "";
    child.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    // The lease holder logs it: proof that Redis and both nodes are up and talking.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (
          /\[node-\d\] info demo server listening[\s\S]*\[node-\d\] info demo server listening/.test(
            out,
          ) &&
          out.includes("this node now produces")
        ) {
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`script exited early:\n${out}`)));
    });
    const pids = [...out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    started.push(...pids);
    expect(pids).toHaveLength(redisProcesses + 2);
    const tempDir = /data in (\S+)\)/.exec(out)?.[1] ?? "";
    expect(existsSync(tempDir)).toBe(true);
    expect(out.match(/this node now produces/g)).toHaveLength(1);
    for (const port of [base, base + 1]) {
      expect(await healthStatus(port)).toBe(200);
      const page = (await (await fetch(`http://127.0.0.1:${port}/demo-config.json`)).json()) as {
        redis: { mode: string; masters: string[] };
      };
      expect(page.redis.mode).toBe(mode);
      expect(page.redis.masters).toHaveLength(masters);
    }

    child.kill(signal);
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(existsSync(tempDir)).toBe(false);
  }, 90_000);
});
