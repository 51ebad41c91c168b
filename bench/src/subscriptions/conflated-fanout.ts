/**
 * Conflated fan-out (PROTOCOL.md, "Conflation") with slow readers: 1,000 raw clients
 * subscribe to a conflated topic that gets `ratePerS` small messages a second over `keys`
 * keys. Phase A: every client reads. Phase B: `slow` of them read one message a second
 * (their socket paused in between), after large messages on a second conflated topic that
 * only they take have put them behind.
 * Figures: the other clients' latency p99 in A and B (same run, same clients), and the
 * server's live memory in B over A per slow client; slow readers must not be closed.
 */
import { WebSocket } from "ws";
import { Samples } from "../stats.js";
import type { Control } from "./control.js";

export interface ConflatedFanoutParams {
  readonly clients: number;
  readonly slow: number;
  readonly ratePerS: number;
  readonly keys: number;
  readonly bytes: number;
  readonly measureMs: number;
  readonly runs: number;
}

export interface ConflatedFanoutFigures {
  /** p99 latency of the fast clients in ms, per run: every client reading (A), slow ones behind (B). */
  readonly p99AllReadingMs: number[];
  readonly p99WithSlowMs: number[];
  /** Server live bytes (heap + external, after GC) in B minus A, per slow client, per run. */
  readonly bytesPerSlowClient: number[];
  /** Slow clients the server closed (must stay 0) and conflated catch-ups it made. */
  readonly slowClosed: number;
  readonly catchUps: number;
}

interface LoadClient {
  readonly ws: WebSocket;
  readonly slow: boolean;
  /** Messages a slow reader may still read before it pauses again. */
  allowance: number;
  closed: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function openClients(port: number, params: ConflatedFanoutParams, samples: Samples) {
  let measuring = false;
  const clients: LoadClient[] = [];
  const open = async (i: number): Promise<void> => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?client_id=load-${i}&version=1&role=test`, [
      "lifeline.v1",
    ]);
    const client: LoadClient = { ws, slow: i < params.slow, allowance: 0, closed: false };
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      let live = false;
      ws.on("message", (raw) => {
        if (live && client.slow) {
          // Not parsed: a slow reader's cost in this process would show as fast clients'
          // latency (they share the load process), which is not what is measured.
          if (client.allowance > 0) {
            client.allowance -= 1;
            if (client.allowance === 0) ws.pause();
          }
          return;
        }
        const message = JSON.parse(String(raw)) as Record<string, unknown>;
        if (message.type === "hello") {
          ws.send(JSON.stringify({ type: "subscribe", id: "s", topic: "status", conflate: true }));
        } else if (message.type === "subscribed" && message.topic === "status" && client.slow) {
          ws.send(JSON.stringify({ type: "subscribe", id: "f", topic: "fill", conflate: true }));
        } else if (message.type === "subscribed") {
          live = true;
          resolve();
        } else if (message.type === "message" && measuring) {
          samples.add(Date.now() - (message.data as { sent: number }).sent);
        }
      });
      ws.on("close", () => {
        client.closed = true;
      });
      ws.on("error", reject);
    });
  };
  for (let i = 0; i < params.clients; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, params.clients - i) }, (_, j) => open(i + j)),
    );
  }
  return {
    clients,
    setMeasuring: (on: boolean) => {
      measuring = on;
    },
  };
}

export async function measureConflatedFanout(
  port: number,
  control: Control,
  params: ConflatedFanoutParams,
): Promise<ConflatedFanoutFigures> {
  const samples = new Samples(2_000_000);
  const load = await openClients(port, params, samples);
  const slow = load.clients.filter((c) => c.slow);
  const figures = {
    p99AllReadingMs: [] as number[],
    p99WithSlowMs: [] as number[],
    bytesPerSlowClient: [] as number[],
  };
  const measure = async (): Promise<number> => {
    samples.reset();
    load.setMeasuring(true);
    await sleep(params.measureMs);
    load.setMeasuring(false);
    return samples.summary().p99;
  };
  await control.call("publish.start", {
    ratePerS: params.ratePerS,
    keys: params.keys,
    bytes: params.bytes,
  });
  const stats = async () =>
    (await control.call("stats")) as { catchUps: number; bufferedBytes: number };
  const catchUps = async () => (await stats()).catchUps;
  for (let run = 0; run < params.runs; run += 1) {
    for (const c of slow) {
      c.allowance = 0;
      c.ws.resume();
    }
    // Every reader drained (what the slow ones had queued is read), then steady state.
    for (let i = 0; i < 100 && (await stats()).bufferedBytes > 256 * 1024; i += 1) {
      await sleep(200);
    }
    await sleep(2000);
    figures.p99AllReadingMs.push(await measure());
    const before = (await control.call("memory")) as { live: number };

    // Behind: slow readers stop, large messages that only they take fill their buffers.
    for (const c of slow) c.ws.pause();
    const fellBehind = await catchUps();
    for (let i = 0; i < 40 && (await catchUps()) < fellBehind + slow.length; i += 1) {
      await control.call("publish.burst", { count: 50, bytes: 16 * 1024 });
    }
    const reading = setInterval(() => {
      for (const c of slow) {
        c.allowance = 1;
        c.ws.resume();
      }
    }, 1000);
    // Settled: the fill is over and the fast clients' queues are back to steady state.
    await sleep(2000);
    figures.p99WithSlowMs.push(await measure());
    const after = (await control.call("memory")) as { live: number };
    clearInterval(reading);
    figures.bytesPerSlowClient.push((after.live - before.live) / slow.length);
  }
  await control.call("publish.stop");
  const result = {
    ...figures,
    slowClosed: slow.filter((c) => c.closed).length,
    catchUps: await catchUps(),
  };
  for (const c of load.clients) c.ws.terminate();
  return result;
}
