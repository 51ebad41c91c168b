/**
 * Cross-node fan-out on Redis against one node with the in-memory broker, in the same run
 * (README, "Benchmark"). Three contenders, each with SUBSCRIBERS WebSocket subscribers:
 *
 * - `memory, one node`: publish and receive on one node with the in-memory broker;
 * - `redis, one node`: the same node on the Redis broker (the cost of Redis alone);
 * - `redis, A -> B`: publish on node A, receive on node B (the cost of going across nodes);
 * - `redis, A -> B, unbatched`: the same with `maxAppendBatch: 1`, one script call per
 *   append (what batching saves).
 *
 * Two phases per contender: latency at RATE messages/s (publish call to arrival of the
 * frame at each subscriber, same clock), then throughput (publishes with WINDOW in flight
 * until every subscriber has every message). Contenders take turns over ROUNDS rounds, in
 * a rotated order, and each figure is the median of its rounds, so a burst of load from
 * elsewhere on the machine hits one round of one contender rather than a whole column.
 * Everything runs in this process against a real `redis-server` started here, so absolute
 * figures include the subscribers' own work; the ratios compare like with like. Bounded:
 * each phase has a deadline, the run takes < 60 s.
 *
 * `pnpm --filter @lifeline/redis bench`
 */
import { availableParallelism, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import {
  type Broker,
  createMemoryBroker,
  createServer,
  type LifelineServer,
} from "@lifeline/server";
import { startRedisServer } from "@lifeline/test-support";
import { WebSocket } from "ws";
import { createRedisBroker } from "../src/index.js";

const SUBSCRIBERS = 10;
const RATE_PER_S = 1000;
const ROUNDS = 3;
const LATENCY_MESSAGES = 1000;
const THROUGHPUT_MESSAGES = 5000;
const WINDOW = 64;
const WARMUP_MESSAGES = 500;
const PHASE_DEADLINE_MS = 12_000;

interface Contender {
  readonly name: string;
  readonly publishOn: LifelineServer;
  readonly receiveOn: LifelineServer;
}

interface PhaseResult {
  readonly latencies: number[];
  readonly elapsedMs: number;
  readonly delivered: number;
  readonly complete: boolean;
}

interface Subscriber {
  /** Messages of the current phase received so far. */
  count: number;
  readonly socket: WebSocket;
}

/** Subscribers on `node`; every arrival is stamped against the `t` the publisher put in. */
async function subscribe(
  node: LifelineServer,
  topic: string,
  onArrival: (sentAt: number) => void,
): Promise<Subscriber[]> {
  return await Promise.all(
    Array.from({ length: SUBSCRIBERS }, async (_, k) => {
      const socket = new WebSocket(
        `ws://127.0.0.1:${node.port}/ws?client_id=bench-${topic}-${k}&version=1&role=test`,
        "lifeline.v1",
      );
      const subscriber: Subscriber = { count: 0, socket };
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.on("message", (raw) => {
          const frame = JSON.parse(String(raw)) as {
            type: string;
            data?: { t: number };
          };
          if (frame.type === "hello") {
            socket.send(JSON.stringify({ type: "subscribe", id: "s", topic }));
          } else if (frame.type === "subscribed") resolve();
          else if (frame.type === "message" && frame.data !== undefined) {
            subscriber.count += 1;
            onArrival(frame.data.t);
          }
        });
      });
      return subscriber;
    }),
  );
}

/** Resolves when `done()` holds, checked after every arrival, or at the deadline. */
function arrivals(): { notify(): void; until(done: () => boolean, ms: number): Promise<boolean> } {
  let wake: (() => void) | undefined;
  return {
    notify: () => wake?.(),
    until(done, ms) {
      if (done()) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          wake = undefined;
          resolve(false);
        }, ms);
        wake = () => {
          if (!done()) return;
          clearTimeout(timer);
          wake = undefined;
          resolve(true);
        };
      });
    },
  };
}

async function runPhase(
  contender: Contender,
  topic: string,
  messages: number,
  pace: "rate" | "window",
): Promise<PhaseResult> {
  const latencies: number[] = [];
  const signal = arrivals();
  const subscribers = await subscribe(contender.receiveOn, topic, (sentAt) => {
    latencies.push(performance.now() - sentAt);
    signal.notify();
  });
  const allArrived = () => subscribers.every((s) => s.count >= messages);
  const started = performance.now();
  const publish = (i: number) => contender.publishOn.publish(topic, { t: performance.now(), i });

  if (pace === "rate") {
    // Every message is published when its time comes: i at started + i / rate.
    let next = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(
          messages,
          Math.floor(((performance.now() - started) * RATE_PER_S) / 1000) + 1,
        );
        for (; next < due; next++) void publish(next);
        if (next >= messages) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
  } else {
    let next = 0;
    const lanes = Array.from({ length: WINDOW }, async () => {
      while (next < messages) await publish(next++);
    });
    await Promise.all(lanes);
  }
  const complete = await signal.until(allArrived, PHASE_DEADLINE_MS);
  const elapsedMs = performance.now() - started;
  const delivered = subscribers.reduce((sum, s) => sum + s.count, 0);
  for (const s of subscribers) s.socket.terminate();
  return { latencies, elapsedMs, delivered, complete };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

interface Row {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly msgsPerS: number;
  readonly deliveriesPerS: number;
  readonly complete: boolean;
}

async function measure(contender: Contender, round: number): Promise<Row> {
  const slug = `${contender.name.replace(/[^a-z]+/g, "-")}-${round}`;
  if (round === 0) await runPhase(contender, `warm-${slug}`, WARMUP_MESSAGES, "window");
  const latency = await runPhase(contender, `lat-${slug}`, LATENCY_MESSAGES, "rate");
  const throughput = await runPhase(contender, `tput-${slug}`, THROUGHPUT_MESSAGES, "window");
  const sorted = [...latency.latencies].sort((a, b) => a - b);
  return {
    name: contender.name,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    msgsPerS: (THROUGHPUT_MESSAGES * 1000) / throughput.elapsedMs,
    deliveriesPerS: (throughput.delivered * 1000) / throughput.elapsedMs,
    complete: latency.complete && throughput.complete,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Each figure the median of the contender's rounds. */
function combine(rounds: readonly Row[]): Row {
  return {
    name: rounds[0]?.name ?? "",
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    max: Math.max(...rounds.map((r) => r.max)),
    msgsPerS: median(rounds.map((r) => r.msgsPerS)),
    deliveriesPerS: median(rounds.map((r) => r.deliveriesPerS)),
    complete: rounds.every((r) => r.complete),
  };
}

async function node(broker: Broker): Promise<LifelineServer> {
  return await createServer({
    port: 0,
    host: "127.0.0.1",
    broker,
    logger: false,
  });
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

async function main(): Promise<void> {
  const runStarted = performance.now();
  const redis = await startRedisServer();
  const memoryBroker = createMemoryBroker({ maxMessages: 1000, maxAgeMs: 300_000 });
  const redisA = createRedisBroker({ url: redis.url, keyPrefix: "bench:" });
  const redisB = createRedisBroker({ url: redis.url, keyPrefix: "bench:" });
  const unbatchedA = createRedisBroker({ url: redis.url, keyPrefix: "bench:", maxAppendBatch: 1 });
  await Promise.all([redisA.ready(), redisB.ready(), unbatchedA.ready()]);
  const [memoryNode, nodeA, nodeB, unbatchedNode] = await Promise.all([
    node(memoryBroker),
    node(redisA),
    node(redisB),
    node(unbatchedA),
  ]);
  const contenders: Contender[] = [
    { name: "memory, one node", publishOn: memoryNode, receiveOn: memoryNode },
    { name: "redis, one node", publishOn: nodeA, receiveOn: nodeA },
    { name: "redis, A -> B", publishOn: nodeA, receiveOn: nodeB },
    { name: "redis, A -> B, unbatched", publishOn: unbatchedNode, receiveOn: nodeB },
  ];
  const loadBefore = loadavg()[0] ?? 0;
  const results = new Map<string, Row[]>(contenders.map((c) => [c.name, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < contenders.length; k++) {
        const contender = contenders[(round + k) % contenders.length] as Contender;
        results.get(contender.name)?.push(await measure(contender, round));
      }
    }
  } finally {
    await Promise.all([memoryNode.close(), nodeA.close(), nodeB.close(), unbatchedNode.close()]);
    await Promise.all([memoryBroker.close(), redisA.close(), redisB.close(), unbatchedA.close()]);
    await redis.dispose();
  }

  const rows = contenders.map((c) => combine(results.get(c.name) ?? []));
  const header = `${SUBSCRIBERS} subscribers, median of ${ROUNDS} rounds; latency at ${RATE_PER_S} msgs/s (${LATENCY_MESSAGES} msgs); throughput ${THROUGHPUT_MESSAGES} msgs, ${WINDOW} publishes in flight`;
  console.log(`\n@lifeline/redis cross-node fan-out (${header})\n`);
  console.log(
    "| contender | p50 ms | p99 ms | max ms (all rounds) | msgs/s | deliveries/s | complete |\n|---|---:|---:|---:|---:|---:|---|",
  );
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${fmt(r.msgsPerS, 0)} | ${fmt(r.deliveriesPerS, 0)} | ${r.complete ? "yes" : "NO"} |`,
    );
  }
  const [memory, , cross, unbatched] = rows;
  if (memory && cross && unbatched) {
    console.log(
      `batched vs unbatched appends, A -> B: throughput x${fmt(cross.msgsPerS / unbatched.msgsPerS)}, ` +
        `p99 ${fmt(cross.p99)} vs ${fmt(unbatched.p99)} ms`,
    );
  }
  if (memory && cross) {
    console.log(
      `\nratios, redis A -> B vs memory one node: throughput x${fmt(cross.msgsPerS / memory.msgsPerS)}, ` +
        `p50 x${fmt(cross.p50 / memory.p50)} (+${fmt(cross.p50 - memory.p50)} ms), ` +
        `p99 x${fmt(cross.p99 / memory.p99)} (+${fmt(cross.p99 - memory.p99)} ms)`,
    );
    console.log(
      `target (README, "Benchmark"): cross-node p99 < 5 ms at ${RATE_PER_S} msgs/s: ${cross.p99 < 5 ? "met" : "NOT met"} (${fmt(cross.p99)} ms)`,
    );
  }
  console.log(
    `run took ${fmt((performance.now() - runStarted) / 1000, 1)} s; 1-minute load average ${fmt(loadBefore)} before, ${fmt(loadavg()[0] ?? 0)} after, on ${availableParallelism()} CPUs`,
  );
  if (rows.some((r) => !r.complete)) process.exitCode = 1;
}

await main();
