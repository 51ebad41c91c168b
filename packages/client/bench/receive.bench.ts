/**
 * Receive-path micro-benchmark (README, "Receive-path benchmark"): the client's cost per received
 * topic message (parse + validate + offset bookkeeping + dispatch to the handler) against
 * a bare `JSON.parse` + handler, fed the same frames in the same run.
 *
 * Both paths get identical pre-built text frames, so neither pays for the socket or for
 * building the frame; the Lifeline client runs with its defaults through a fake WebSocket
 * whose `onmessage` the benchmark calls directly. Each batch is timed in CPU time of the
 * process; batches of the two paths are interleaved and alternate who goes first, so a
 * busy machine affects both; the ratio reported is the median of the per-batch ratios.
 *
 *   pnpm --filter @lifeline/client bench            # about 5-15 s
 *   BENCH_ROUNDS=10 BENCH_BATCH=10000 ...           # shorter
 *   BENCH_ONLY=client node --cpu-prof ...           # profile one path
 */

import { createClient } from "../src/index.js";
import type { WebSocketConstructor, WebSocketLike } from "../src/transport/socket.js";

const TOPIC = "bench";
const EPOCH = "mjx3k2q1-5f0c9a1e";
/** Application data whose JSON text is 200 bytes, as in bench/src/payload.ts. */
const DATA_BYTES = 200;

const ROUNDS = positive(process.env.BENCH_ROUNDS, 200);
const WARMUP_ROUNDS = positive(process.env.BENCH_WARMUP, 20);
/** Small enough that a burst of other work on the machine spoils few rounds. */
const BATCH = positive(process.env.BENCH_BATCH, 5000);
const ONLY = process.env.BENCH_ONLY;
/** A hard stop so the benchmark stays bounded even on a very slow machine. */
const DEADLINE_MS = 30_000;

function positive(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

const pads = new Map<number, string>();

/**
 * The frame the server sends for `offset` (same field order as the server's topics.ts),
 * carrying data whose JSON text is `DATA_BYTES` long, as bench/src/payload.ts makes it.
 */
function makeFrame(offset: number): { readonly data: string } {
  const t = Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
  const bare = `{"seq":${offset},"t":${t},"pad":""}`.length;
  const n = Math.max(0, DATA_BYTES - bare);
  let pad = pads.get(n);
  if (pad === undefined) {
    pad = "x".repeat(n);
    pads.set(n, pad);
  }
  const data = `{"seq":${offset},"t":${t},"pad":"${pad}"}`;
  return {
    data: `{"type":"message","topic":"${TOPIC}","offset":${offset},"epoch":"${EPOCH}","data":${data},"ts":${Date.now()}}`,
  };
}

/**
 * A batch of frames. Each is parsed once here: a template literal builds a rope, which the
 * first `JSON.parse` flattens in place, and that cost would otherwise land on whichever
 * contender happens to run first (`ws` hands over flat strings).
 */
function makeFrames(from: number, count: number): Array<{ readonly data: string }> {
  const frames: Array<{ readonly data: string }> = [];
  for (let i = 0; i < count; i++) {
    const frame = makeFrame(from + i);
    sample = JSON.parse(frame.data);
    frames.push(frame);
  }
  return frames;
}

/**
 * One parsed frame kept alive, as an application keeps some of what it receives: when
 * nothing holds an object of the parsed shapes, a full GC frees their hidden classes and
 * throws away every optimized function that depended on them.
 */
let sample: unknown;

class BenchSocket implements WebSocketLike {
  static last: BenchSocket | undefined;
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: string[] = [];

  constructor(readonly url: string) {
    BenchSocket.last = this;
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(): void {
    this.readyState = 3;
  }
}

let sink = 0;
let delivered = 0;
const handler = (data: unknown): void => {
  if (data !== null && typeof data === "object") sink++;
  delivered++;
};

/** What the bare `ws` contender of bench/ does with each frame. */
function bareReceive(frames: ReadonlyArray<{ readonly data: string }>, pong: () => void): void {
  for (const frame of frames) {
    const message = JSON.parse(frame.data) as { type: string; topic: string; data: unknown };
    if (message.type === "message" && message.topic === TOPIC) handler(message.data);
    else if (message.type === "ping") pong();
  }
}

async function openLifeline() {
  const client = createClient({
    url: "ws://bench.invalid/ws",
    clientId: "bench-client",
    role: "test",
    WebSocket: BenchSocket as unknown as WebSocketConstructor,
    lifecycle: false,
  });
  for (let i = 0; i < 1000 && BenchSocket.last === undefined; i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  const socket = BenchSocket.last;
  if (!socket?.onmessage) throw new Error("the client created no socket");
  socket.readyState = 1;
  socket.onopen?.({});
  socket.onmessage({
    data: JSON.stringify({
      type: "hello",
      server_time: new Date().toISOString(),
      accepted_version: 1,
      features: ["resume"],
      request_id: "req-1",
      client_id: "bench-client",
      connection_id: "conn-1",
      heartbeat_interval_ms: 25_000,
    }),
  });
  client.subscribe(TOPIC, handler);
  const subscribe = socket.sent
    .map((frame) => JSON.parse(frame) as { type: string; id: string })
    .find((message) => message.type === "subscribe");
  if (!subscribe) throw new Error("the client sent no subscribe");
  socket.onmessage({
    data: JSON.stringify({
      type: "subscribed",
      id: subscribe.id,
      topic: TOPIC,
      offset: 0,
      epoch: EPOCH,
      recovered: true,
      replayed: 0,
    }),
  });
  const receive = socket.onmessage;
  return { client, receive };
}

/**
 * CPU time of this process (as bench/ measures the load process): unlike wall time it
 * does not count the moments other processes held the CPU, which on a shared machine
 * matter more than anything measured here.
 */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function main(): Promise<void> {
  const { client, receive } = await openLifeline();
  const started = performance.now();
  const clientNs: number[] = [];
  const bareNs: number[] = [];
  const ratios: number[] = [];
  let offset = 1;
  let rounds = 0;
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    if (performance.now() - started > DEADLINE_MS) break;
    const frames = makeFrames(offset, BATCH);
    offset += BATCH;
    // Moves the batch out of the young generation (with --expose-gc): otherwise every
    // scavenge during the timed loop copies 1.5 MB of frames that in real life are
    // garbage by then, charging the benchmark's own data to whichever path allocates more.
    (globalThis as { gc?: () => void }).gc?.();
    let tClient = 0;
    let tBare = 0;
    const runClient = () => {
      const before = delivered;
      const t0 = cpuMs();
      for (const frame of frames) receive(frame);
      tClient = cpuMs() - t0;
      if (delivered - before !== BATCH) throw new Error("the client dropped messages");
    };
    const runBare = () => {
      const t0 = cpuMs();
      bareReceive(frames, () => {});
      tBare = cpuMs() - t0;
    };
    if (ONLY === "client") runClient();
    else if (ONLY === "bare") runBare();
    else if (round % 2 === 0) {
      runClient();
      runBare();
    } else {
      runBare();
      runClient();
    }
    if (round < WARMUP_ROUNDS) continue;
    rounds++;
    clientNs.push((tClient * 1e6) / BATCH);
    bareNs.push((tBare * 1e6) / BATCH);
    if (tBare > 0) ratios.push(tClient / tBare);
  }
  client.close();
  const frameBytes = makeFrame(1).data.length;
  const line = (label: string, values: readonly number[], unit: string, digits: number) =>
    values.length === 0
      ? `${label}: n/a`
      : `${label}: ${median(values).toFixed(digits)}${unit} (min ${Math.min(...values).toFixed(digits)}, max ${Math.max(...values).toFixed(digits)})`;
  console.log(
    `receive path, ${rounds} rounds x ${BATCH} frames of ${frameBytes} chars (${DATA_BYTES}-byte data), ${Math.round(performance.now() - started)} ms`,
  );
  console.log(line("  lifeline client", clientNs, " ns/msg", 0));
  console.log(line("  JSON.parse + handler", bareNs, " ns/msg", 0));
  console.log(line("  ratio (median of per-round ratios)", ratios, "x", 2));
  // The fastest batches are the ones other processes disturbed least: the closest view
  // of each path's own cost on a shared machine.
  const p10 = (values: readonly number[]) => [...values].sort((a, b) => a - b)[values.length >> 3];
  const bestClient = p10(clientNs);
  const bestBare = p10(bareNs);
  if (bestClient !== undefined && bestBare !== undefined && bestBare > 0) {
    console.log(
      `  ratio of fastest batches (p12.5): ${(bestClient / bestBare).toFixed(2)}x (${bestClient.toFixed(0)} vs ${bestBare.toFixed(0)} ns/msg)`,
    );
  }
  const total = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0);
  if (total(bareNs) > 0) {
    console.log(
      `  ratio of totals (GC included): ${(total(clientNs) / total(bareNs)).toFixed(2)}x`,
    );
  }
  if (sink === 0 || sample === undefined) console.log("  (no message reached a handler)");
}

await main();
