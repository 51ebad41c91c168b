/**
 * The server half of the subscription benchmarks, in its own process so that its CPU time
 * and memory are the server's alone: a topic `t` with 1,000 retained messages, a
 * conflated topic `status` keyed by `id` (and `fill`, which only the slow readers take, to
 * put them behind quickly), and methods that report CPU time and memory and
 * drive a steady publisher.
 */
import { defineContract, type StandardSchemaV1 } from "@lifeline/protocol";
import { createServer } from "@lifeline/server";

/** Accepts any data: the benchmark measures delivery, not validation. */
const anything: StandardSchemaV1 = {
  "~standard": { version: 1, vendor: "bench", validate: (value) => ({ value }) },
};

async function main(): Promise<void> {
  const server = await createServer({
    port: 0,
    logger: false,
    heartbeat: { intervalMs: 0 },
    contract: defineContract({
      topics: {
        t: anything,
        status: { schema: anything, conflate: { key: "id" } },
        fill: { schema: anything, conflate: { key: "id" } },
      },
    }),
    limits: {
      maxConnections: 1_000_000,
      maxConnectionsPerIp: 1_000_000,
      rate: { perSecond: 1e9, burst: 1e9 },
    },
  });
  for (let i = 0; i < 1000; i += 1) {
    await server.publish("t", { battery: i, state: "tracking", ra: 83.82, dec: -5.39 });
  }
  server.method("cpu", () => {
    const used = process.cpuUsage();
    return used.user + used.system;
  });
  /** Heap, external and array buffer bytes after a full collection (needs --expose-gc). */
  server.method("memory", () => {
    globalThis.gc?.();
    const m = process.memoryUsage();
    return { live: m.heapUsed + m.external, rss: m.rss };
  });
  server.method("stats", () => {
    const stats = server.stats();
    return { catchUps: stats.conflatedCatchUps, bufferedBytes: stats.bufferedBytes };
  });
  let stop: (() => void) | undefined;
  server.method("publish.start", (params) => {
    const { ratePerS, keys, bytes } = params as { ratePerS: number; keys: number; bytes: number };
    stop?.();
    const pad = "x".repeat(bytes);
    let n = 0;
    const timer = setInterval(() => {
      // `sent` in wall-clock ms: the load process shares the clock (same machine).
      void server.publish("status", { id: `k${n % keys}`, n, sent: Date.now(), pad });
      n += 1;
    }, 1000 / ratePerS);
    stop = () => clearInterval(timer);
    return null;
  });
  server.method("publish.burst", async (params) => {
    const { count, bytes } = params as { count: number; bytes: number };
    const pad = "y".repeat(bytes);
    for (let i = 0; i < count; i += 1) {
      await server.publish("fill", { id: `fill${i % 10}`, pad });
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return null;
  });
  server.method("publish.stop", () => {
    stop?.();
    stop = undefined;
    return null;
  });
  process.send?.({ port: server.port });
}

void main();
