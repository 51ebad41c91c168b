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

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
});

/** `pnpm demo:cluster`'s script: Redis + nodes up, one producer, Ctrl-C stops all by PID. */
describe("scripts/demo-cluster.mjs", () => {
  it("starts redis-server and the nodes, elects one producer, and stops everything on SIGINT", async () => {
    const base = await consecutiveFreePorts(2);
    const child = spawn(process.execPath, ["scripts/demo-cluster.mjs"], {
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
    expect(pids).toHaveLength(3);
    const tempDir = /data in (\S+)\)/.exec(out)?.[1] ?? "";
    expect(existsSync(tempDir)).toBe(true);
    expect(out.match(/this node now produces/g)).toHaveLength(1);
    for (const port of [base, base + 1]) {
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
    }

    child.kill("SIGINT");
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(existsSync(tempDir)).toBe(false);
  }, 90_000);
});
