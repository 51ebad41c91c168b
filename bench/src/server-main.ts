/**
 * One contender's server, in its own process. The runner drives it over IPC: start,
 * publish loops for fan-out, CPU and memory snapshots, event-loop delay.
 * Usage: server-main.ts <contender>
 */

import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { type AddressInfo, createServer as createControlServer } from "node:net";
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { writeHeapSnapshot } from "node:v8";
import { type ContenderServer, SERVER_KINDS, type ServerKind } from "./contenders/types.js";
import { serve } from "./ipc.js";
import { makeData, nowMs, type PayloadKind } from "./payload.js";

const contender = process.argv[2] as ServerKind;
if (!SERVER_KINDS.includes(contender)) throw new Error(`unknown contender ${contender}`);

/**
 * `heartbeatMs`: every contender pings each connection at this interval with its own
 * mechanism (Lifeline's heartbeat, socket.io's pingInterval, a `ws` ping sweep); absent,
 * each keeps its default (raw `ws` has none).
 */
type Starter = (port: number, heartbeatMs?: number) => Promise<ContenderServer>;

/** Loads the contender's code before saying ready, so start-up cost stays out of the runs. */
async function loadStarter(): Promise<Starter> {
  const host = "127.0.0.1";
  switch (contender) {
    case "ws":
    case "ws-preframed": {
      const { startWsServer } = await import("./contenders/ws.js");
      return (port, heartbeatMs) =>
        startWsServer({ host, port, preframed: contender === "ws-preframed", heartbeatMs });
    }
    case "socketio": {
      const { startSocketIoServer } = await import("./contenders/socketio.js");
      return (port, heartbeatMs) => startSocketIoServer({ host, port, heartbeatMs });
    }
    // One server speaks every wire: the client picks its own (subprotocol, or the SSE path).
    case "lifeline":
    case "lifeline-msgpack":
    case "lifeline-sse": {
      const { startLifelineServer } = await import("./contenders/lifeline.js");
      return (port, heartbeatMs) => startLifelineServer({ host, port, heartbeatMs });
    }
    case "lifeline-redis": {
      const { startLifelineServer } = await import("./contenders/lifeline.js");
      const { createRedisBroker } = await import("@lifeline/redis");
      const url = process.argv[3];
      if (url === undefined) throw new Error("lifeline-redis needs the Redis URL as argument 2");
      return async (port) => {
        const broker = createRedisBroker({ url, keyPrefix: "bench:" });
        await broker.ready();
        return await startLifelineServer({ host, port, broker });
      };
    }
  }
}

const start = await loadStarter();

export interface CpuSnapshot {
  /** Microseconds of user + system CPU this process has used. */
  readonly userUs: number;
  readonly systemUs: number;
  /** Wall clock, ms since the epoch. */
  readonly t: number;
  readonly published: number;
}

export interface MemorySnapshot {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly connections: number;
}

export interface FanoutOptions {
  readonly clients: number;
  /** Messages (per client, on average) that may be published but not yet delivered. */
  readonly window: number;
  /** Messages published back to back in one macrotask. 1 = one publish per tick. */
  readonly burst: number;
  readonly bytes: number;
  /** What the messages carry: `padded` when absent. */
  readonly payload?: PayloadKind;
  /**
   * Open loop instead: publish `burst` messages every `intervalMs`, whatever is delivered
   * (latency at a fixed offered rate).
   */
  readonly intervalMs?: number;
}

let server: ContenderServer | undefined;
let published = 0;
let delivered = 0;
let fanout: FanoutOptions | undefined;
let pumping = false;
let lost = 0;
let stallCheck: NodeJS.Timeout | undefined;
let lastDelivered = -1;
let ticker: NodeJS.Timeout | undefined;

// The load process reports deliveries straight to this process over a loopback TCP
// socket ("<count>\n"), so flow control does not wait on the runner's scheduling.
const control = createControlServer((socket) => {
  socket.setNoDelay(true);
  socket.setEncoding("latin1");
  let pending = "";
  socket.on("data", (chunk: string) => {
    pending += chunk;
    const end = pending.lastIndexOf("\n");
    if (end < 0) return;
    const start = pending.lastIndexOf("\n", end - 1) + 1;
    delivered = Number(pending.slice(start, end));
    pending = pending.slice(end + 1);
    if (fanout !== undefined && fanout.intervalMs === undefined) schedule();
  });
  socket.on("error", () => {});
});
await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
const controlPort = (control.address() as AddressInfo).port;
let histogram: IntervalHistogram | undefined;
let profiler: Session | undefined;

function inFlight(f: FanoutOptions): number {
  return published - lost - delivered / f.clients;
}

// Messages that never arrive (a client still subscribing, a slow consumer dropped) would
// hold the window shut forever: after a quarter second without progress they are written
// off and publishing resumes.
function checkStall(): void {
  const f = fanout;
  if (f === undefined) return;
  if (delivered === lastDelivered && inFlight(f) >= f.window) {
    lost = published - delivered / f.clients;
    schedule();
  }
  lastDelivered = delivered;
}

// Flow control: the load process reports deliveries, and the publisher keeps at most
// `window` messages per client outstanding, so every contender runs at its own maximum
// rate without unbounded buffers.
function pump(): void {
  pumping = false;
  const f = fanout;
  if (f === undefined || server === undefined) return;
  for (let i = 0; i < f.burst && inFlight(f) < f.window; i++) {
    server.broadcast(makeData(++published, f.bytes, f.payload));
  }
  if (inFlight(f) < f.window) schedule();
}

function schedule(): void {
  if (pumping) return;
  pumping = true;
  setImmediate(pump);
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error("run the server with --expose-gc");
  collect();
  collect();
}

serve({
  async listen(args: { port?: number; heartbeatMs?: number }) {
    server = await start(args.port ?? 0, args.heartbeatMs);
    return { port: server.port, controlPort, t: nowMs() };
  },
  cpu(): CpuSnapshot {
    const usage = process.cpuUsage();
    return { userUs: usage.user, systemUs: usage.system, t: nowMs(), published };
  },
  fanoutStart(args: FanoutOptions) {
    fanout = args;
    published = 0;
    delivered = 0;
    lost = 0;
    const s = server;
    if (args.intervalMs !== undefined && s !== undefined) {
      const intervalMs = args.intervalMs;
      const started = nowMs();
      let ticks = 0;
      // Each burst is timed against its own due time (a setInterval would drift by the
      // time each callback takes), and a server that fell behind publishes the missed
      // bursts at once.
      const tick = (): void => {
        ticks += 1;
        // Latency counts from when the burst was due, not from when the server got to
        // each message: a server whose event loop is busy publishes late, or publishes
        // the last message of a burst only after fanning out the others, and its clients
        // wait for that too (leaving it out is "coordinated omission").
        const due = started + ticks * intervalMs;
        for (let i = 0; i < args.burst; i++)
          s.broadcast(makeData(++published, args.bytes, args.payload, due));
        ticker = setTimeout(tick, Math.max(0, due + intervalMs - nowMs()));
      };
      ticker = setTimeout(tick, intervalMs);
      return;
    }
    stallCheck = setInterval(checkStall, 250);
    schedule();
  },
  fanoutStop() {
    fanout = undefined;
    if (stallCheck !== undefined) clearInterval(stallCheck);
    if (ticker !== undefined) clearTimeout(ticker);
    return { published, lost, delivered };
  },
  async memory(): Promise<MemorySnapshot> {
    // Let sockets that just closed or opened settle before collecting.
    await new Promise((resolve) => setTimeout(resolve, 200));
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const m = process.memoryUsage();
    return {
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      connections: server?.connections() ?? 0,
    };
  },
  connections: () => server?.connections() ?? 0,
  // CPU profile of the serving only (start-up and module loading left out).
  async profileStart() {
    profiler ??= new Session();
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
  },
  async profileStop(args: { path: string }) {
    if (profiler === undefined) return;
    const { profile } = await profiler.post("Profiler.stop");
    await writeFile(args.path, JSON.stringify(profile));
    profiler.disconnect();
  },
  heapSnapshot(args: { path: string }) {
    gc();
    return writeHeapSnapshot(args.path);
  },
  loopDelayStart(args: { resolutionMs: number }) {
    histogram = monitorEventLoopDelay({ resolution: args.resolutionMs });
    histogram.enable();
  },
  loopDelayStop() {
    const h = histogram;
    if (h === undefined) return { maxMs: 0, p99Ms: 0 };
    h.disable();
    histogram = undefined;
    return { maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 };
  },
  async close() {
    await server?.close();
    server = undefined;
  },
  exit() {
    // A normal exit, so that --cpu-prof writes its profile.
    process.exit(0);
  },
});
