/**
 * The load process: opens the clients, counts what they receive, times round trips and
 * reconnections, and measures its own CPU for the client-overhead scenario. Driven by the
 * runner over IPC; one load process serves the whole invocation.
 */
import { connect as connectTcp, type Socket } from "node:net";
import WebSocket from "ws";
import type { Wire } from "./contenders/types.js";
import { serve } from "./ipc.js";
import { type StormClient, type StormKind, stormClientFactory } from "./load/storm-clients.js";
import { bytesRead, MIN_DATA_BYTES, openConnection, type WireDriver, wires } from "./load/wires.js";
import { makeParams, nowMs, TOPIC } from "./payload.js";
import { type LatencySummary, Samples } from "./stats.js";

export interface ConnectArgs {
  readonly wire: Wire;
  readonly port: number;
  readonly count: number;
  /** Subscribe to the bench topic (Lifeline needs it to receive broadcasts). */
  readonly subscribe: boolean;
  readonly concurrency: number;
  /** How many connections parse every message to time its delivery. */
  readonly sample: number;
  /** Report deliveries to the runner every this many messages (publisher flow control). */
  readonly progressStep: number;
  /** The server process's flow-control port (see server-main.ts). */
  readonly controlPort?: number;
  readonly mode: "fanout" | "rpc";
}

export interface Mark {
  readonly delivered: number;
  readonly t: number;
  readonly cpuUs: number;
  /** Bytes the fan-out connections have read from their sockets (headers and framing included). */
  readonly bytes: number;
}

export interface MeasureResult extends Mark {
  readonly latency: LatencySummary;
}

export interface RpcArgs {
  /** "max": each connection keeps one request outstanding; "rate": a fixed total rate. */
  readonly mode: "max" | "rate";
  readonly ratePerS: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface RpcResult {
  readonly completed: number;
  readonly seconds: number;
  readonly latency: LatencySummary;
  readonly lost: number;
}

// A client failing in a way no run awaited must not take the whole load process down.
process.on("unhandledRejection", (reason) => {
  process.stderr.write(`load: unhandled rejection: ${String(reason)}\n`);
});

const runId = Math.random().toString(36).slice(2, 8);
let connSeq = 0;
let conns: WebSocket[] = [];
let delivered = 0;
let nextProgress = Number.POSITIVE_INFINITY;
let progressStep = Number.POSITIVE_INFINITY;
let measuring = false;
let control: Socket | undefined;
const latencies = new Samples(200_000);

let rpcSent = new Map<number, number>();
let rpcRequestId = 0;
let rpcOnResponse: ((ws: WebSocket) => void) | undefined;
let rpcCompleted = 0;

serve({
  connect,
  measureStart: (): Mark => {
    latencies.reset();
    measuring = true;
    return mark();
  },
  measureStop: (): MeasureResult => {
    measuring = false;
    return { ...mark(), latency: latencies.summary() };
  },
  closeAll,
  rpc,
  stormConnect,
  stormArm,
  stormWait,
  stormClose,
  overheadConnect,
});

function mark(): Mark {
  const cpu = process.cpuUsage();
  let bytes = 0;
  for (const ws of conns) bytes += bytesRead(ws);
  return { delivered, t: nowMs(), cpuUs: cpu.user + cpu.system, bytes };
}

function countDelivery(): void {
  delivered++;
  if (delivered >= nextProgress) {
    nextProgress = delivered + progressStep;
    control?.write(`${delivered}\n`);
  }
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight. */
async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

async function connect(args: ConnectArgs): Promise<{ ms: number }> {
  const driver = wires[args.wire];
  await openControl(args.controlPort);
  delivered = 0;
  progressStep = args.progressStep;
  nextProgress = args.progressStep;
  const started = nowMs();
  // Latency is sampled on clients spread evenly over the audience, not the first ones: a
  // server that writes its sockets in order reaches the first ones soonest, and sampling
  // only those would hide how long the last ones wait.
  const stride = Math.max(1, Math.floor(args.count / Math.max(1, args.sample)));
  const sampled = (i: number): boolean => i % stride === 0 && i / stride < args.sample;
  await pool(args.count, args.concurrency, async (i) => {
    const ws = openConnection(driver, driver.url(args.port, `b-${runId}-${++connSeq}`));
    ws.on("error", () => {});
    await driver.handshake(ws, args.subscribe);
    if (args.mode === "fanout") attachFanout(ws, driver, sampled(i));
    else attachRpc(ws, driver);
    conns.push(ws);
  });
  return { ms: nowMs() - started };
}

function attachFanout(ws: WebSocket, driver: WireDriver, sampled: boolean): void {
  ws.on("message", (raw: Buffer) => {
    if (raw.length < MIN_DATA_BYTES) {
      driver.control(ws, raw);
      return;
    }
    countDelivery();
    if (sampled && measuring) {
      const data = driver.dataOf(raw);
      if (data !== undefined) latencies.add(nowMs() - data.t);
    }
  });
}

function attachRpc(ws: WebSocket, driver: WireDriver): void {
  ws.on("message", (raw: Buffer) => {
    if (driver.control(ws, raw)) return;
    const id = driver.responseId(raw);
    if (id === undefined) return;
    const sentAt = rpcSent.get(id);
    if (sentAt === undefined) return;
    rpcSent.delete(id);
    if (measuring) {
      latencies.add(nowMs() - sentAt);
      rpcCompleted++;
    }
    rpcOnResponse?.(ws);
  });
}

function sendRequest(ws: WebSocket, driver: WireDriver): void {
  const id = ++rpcRequestId;
  rpcSent.set(id, nowMs());
  driver.sendRequest(ws, id, makeParams(id));
}

async function rpc(args: RpcArgs & { readonly wire: Wire }): Promise<RpcResult> {
  const driver = wires[args.wire];
  rpcSent = new Map();
  rpcCompleted = 0;
  latencies.reset();
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  if (args.mode === "max") {
    rpcOnResponse = (ws) => {
      if (running) sendRequest(ws, driver);
    };
    for (const ws of conns) sendRequest(ws, driver);
  } else {
    rpcOnResponse = undefined;
    const started = nowMs();
    let sent = 0;
    let cursor = 0;
    // A 1 ms tick sends what the schedule says is due, round-robin over the sockets.
    timer = setInterval(() => {
      const due = Math.floor(((nowMs() - started) * args.ratePerS) / 1000) - sent;
      for (let i = 0; i < due; i++) {
        sendRequest(conns[cursor]!, driver);
        cursor = (cursor + 1) % conns.length;
      }
      sent += Math.max(0, due);
    }, 1);
  }
  await sleep(args.warmupMs);
  measuring = true;
  latencies.reset();
  rpcCompleted = 0;
  const t0 = nowMs();
  await sleep(args.durationMs);
  measuring = false;
  const seconds = (nowMs() - t0) / 1000;
  const completed = rpcCompleted;
  const latency = latencies.summary();
  running = false;
  if (timer !== undefined) clearInterval(timer);
  // Let outstanding requests drain (bounded) so the next mode starts clean.
  for (let i = 0; i < 100 && rpcSent.size > 0; i++) await sleep(20);
  const lost = rpcSent.size;
  rpcOnResponse = undefined;
  return { completed, seconds, latency, lost };
}

async function openControl(port: number | undefined): Promise<void> {
  control?.destroy();
  control = undefined;
  if (port === undefined) return;
  const socket = connectTcp(port, "127.0.0.1");
  socket.setNoDelay(true);
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  control = socket;
}

async function closeAll(): Promise<void> {
  control?.destroy();
  control = undefined;
  const closing = conns;
  conns = [];
  for (const ws of closing) ws.terminate();
  progressStep = Number.POSITIVE_INFINITY;
  nextProgress = Number.POSITIVE_INFINITY;
  measuring = false;
  for (const client of storm) client.close();
  storm = [];
  overheadClose?.();
  overheadClose = undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Reconnect storm: clients with their own reconnection, counted down and back up.

let storm: StormClient[] = [];
let stormBack = 0;
let stormLastBackAt = 0;
let stormFirstBackAt = 0;
let stormArmed = false;
let stormWaiter: (() => void) | undefined;

async function stormConnect(args: {
  readonly kind: StormKind;
  readonly port: number;
  readonly count: number;
  readonly batch: number;
}): Promise<{ ms: number }> {
  const start = await stormClientFactory(args.kind);
  const started = nowMs();
  stormArmed = false;
  for (let i = 0; i < args.count; i += args.batch) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(args.count, i + args.batch); j++) {
      const client = start(args.port, `s-${runId}-${++connSeq}`, {
        onUp: () => onStormUp(client),
        onDown: () => {
          client.wasDown = true;
        },
      });
      storm.push(client);
      batch.push(client.firstOpen);
    }
    await Promise.all(batch);
  }
  return { ms: nowMs() - started };
}

function onStormUp(client: StormClient): void {
  if (!stormArmed || !client.wasDown || client.counted) return;
  client.counted = true;
  const t = nowMs();
  if (stormBack === 0) stormFirstBackAt = t;
  stormBack++;
  stormLastBackAt = t;
  if (stormBack === storm.length) stormWaiter?.();
}

function stormArm(): void {
  stormArmed = true;
  stormBack = 0;
  for (const client of storm) {
    client.wasDown = false;
    client.counted = false;
  }
}

async function stormWait(args: { readonly timeoutMs: number }): Promise<{
  back: number;
  total: number;
  firstBackAt: number;
  lastBackAt: number;
  attempts: number;
}> {
  if (stormBack < storm.length) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, args.timeoutMs);
      stormWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  stormWaiter = undefined;
  return {
    back: stormBack,
    total: storm.length,
    firstBackAt: stormFirstBackAt,
    lastBackAt: stormLastBackAt,
    attempts: storm.reduce((sum, c) => sum + c.attempts(), 0),
  };
}

function stormClose(): void {
  for (const client of storm) client.close();
  storm = [];
}

// Client overhead: one subscriber, either the Lifeline client or a bare ws client that
// parses the same stream, measured by this process's CPU per received message.

let overheadClose: (() => void) | undefined;

async function overheadConnect(args: {
  readonly kind: "lifeline-client" | "bare-ws";
  readonly port: number;
  readonly controlPort: number;
  readonly progressStep: number;
}): Promise<void> {
  await openControl(args.controlPort);
  delivered = 0;
  progressStep = args.progressStep;
  nextProgress = args.progressStep;
  let sink = 0;
  const handler = (data: unknown): void => {
    if (data !== null && typeof data === "object") sink++;
    countDelivery();
  };
  if (args.kind === "bare-ws") {
    const driver = wires.lifeline;
    const ws = new WebSocket(driver.url(args.port, `o-${runId}-${++connSeq}`), [
      ...driver.protocols,
    ]);
    ws.on("error", () => {});
    await driver.handshake(ws, true);
    ws.on("message", (raw: Buffer) => {
      const message = JSON.parse(raw.toString()) as { type: string; topic: string; data: unknown };
      if (message.type === "message" && message.topic === TOPIC) handler(message.data);
      else if (message.type === "ping") ws.send('{"type":"pong"}');
    });
    overheadClose = () => ws.terminate();
  } else {
    const { subscribeWithLifelineClient } = await import("./load/lifeline-client.js");
    overheadClose = await subscribeWithLifelineClient(
      args.port,
      `o-${runId}-${++connSeq}`,
      handler,
    );
  }
  void sink;
}
