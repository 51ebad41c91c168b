import { createClient } from "@lifeline/client";
import { afterEach, describe, expect, it } from "vitest";
import { publishMarkers, startFleet, tappedWebSocket } from "./support/fleet.js";
import { History } from "./support/history.js";
import { type MemorySample, type ServerProcess, startServerProcess } from "./support/processes.js";
import { countdown, within } from "./support/wait.js";

// Issue 7, "A soak run": cycles of connect, subscribe, receive, disconnect against one
// server process, its heap sampled after a full GC at the end of every cycle. A leak of
// anything per connection or per subscription shows as a rising line.
//
// The CI variant runs SOAK_CYCLES=24 (about 30 s); `LIFELINE_SOAK_CYCLES=400 pnpm test:chaos
// soak` is the long run (a few minutes).

// biome-ignore lint/suspicious/noUndeclaredEnvVars: a knob for a manual long run, no turbo task reads it
const envCycles = Number(process.env.LIFELINE_SOAK_CYCLES ?? "");
const CYCLES = Number.isInteger(envCycles) && envCycles > 0 ? Math.min(envCycles, 2000) : 24;
const CLIENTS_PER_CYCLE = 50;
const TOPICS_PER_CLIENT = 3;
/** Cycles before sampling starts: JIT, pools and caches settle first. */
const WARMUP = 4;
/** Heap growth per connection (and its subscriptions) that counts as a leak. */
const LEAK_BYTES_PER_CONNECTION = 256;

const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

/** Least-squares slope of `ys` over their index. */
function slope(ys: readonly number[]): number {
  const n = ys.length;
  const meanX = (n - 1) / 2;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return den === 0 ? 0 : num / den;
}

describe("soak", () => {
  it(`shows no heap growth over ${CYCLES} cycles of connect, subscribe, receive, disconnect`, async () => {
    const server: ServerProcess = await startServerProcess({
      nodeFlags: ["--expose-gc"],
      options: { limits: { maxConnectionsPerIp: 10_000 } },
    });
    disposers.push(() => server.dispose());
    const publisher = createClient({
      url: server.url,
      clientId: "soak-publisher",
      lifecycle: false,
      logLevel: "silent",
      WebSocket: tappedWebSocket(() => {}),
    });
    disposers.push(() => publisher.close());

    const samples: MemorySample[] = [];
    const startedAt = Date.now();
    for (let cycle = 0; cycle < CYCLES; cycle += 1) {
      const history = new History();
      const prefix = `soak${cycle}`;
      const fleet = startFleet({
        url: server.url,
        count: CLIENTS_PER_CYCLE,
        prefix,
        // Fresh topic names each cycle: a topic left behind after its last subscriber is a leak too.
        topicsOf: (i) =>
          Array.from({ length: TOPICS_PER_CLIENT }, (_, t) => `soak/${cycle}/${(i + t) % 10}`),
        history,
      });
      await fleet.whenAllLive(20_000);
      await publishMarkers(fleet, publisher, history, prefix, 20_000);
      const gone = countdown(CLIENTS_PER_CYCLE);
      const stop = server.onEvent((event) => {
        if (event.type === "disconnect" && event.client_id.startsWith(`${prefix}-`)) gone.hit();
      });
      fleet.close();
      await within(gone.reached, `the server to see cycle ${cycle}'s clients leave`, 20_000);
      stop();
      const sample = await server.memory();
      expect(sample.connections).toBe(1);
      expect(sample.subscriptions).toBe(0);
      samples.push(sample);
    }
    const elapsedMs = Date.now() - startedAt;

    const heap = samples.slice(WARMUP).map((s) => s.heap_used);
    const perCycle = slope(heap);
    const perConnection = perCycle / CLIENTS_PER_CYCLE;
    const first = heap[0] ?? 0;
    const last = heap.at(-1) ?? 0;
    console.info(
      `[chaos] soak: cycles=${CYCLES} clients_per_cycle=${CLIENTS_PER_CYCLE} subscriptions_per_client=${TOPICS_PER_CLIENT} elapsed_ms=${elapsedMs} gc=${samples[0]?.gc} heap_first=${first} heap_last=${last} slope_bytes_per_cycle=${Math.round(perCycle)} per_connection=${Math.round(perConnection)} rss_last=${samples.at(-1)?.rss}`,
    );
    expect(samples[0]?.gc).toBe(true);
    expect(perConnection).toBeLessThan(LEAK_BYTES_PER_CONNECTION);
  });
});
