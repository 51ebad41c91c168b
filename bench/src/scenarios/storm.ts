/**
 * Reconnect storm: N clients connected, the server process is killed, a standby process
 * (already booted, so the downtime is the kill itself) listens on the same port, and every
 * client reconnects with its own library's default policy. Measured from the moment the
 * new server accepts until the last client is back, with the new server's event-loop
 * delay over the same span.
 */
import type { ContenderName } from "../contenders/types.js";
import {
  type Harness,
  type MetricSpec,
  repeat,
  type ScenarioResult,
  stopServer,
} from "../harness.js";
import type { Worker } from "../ipc.js";
import type { StormKind } from "../load/storm-clients.js";

export interface StormParams {
  readonly clients: number;
  readonly timeoutMs: number;
  readonly runs: number;
}

const METRICS: readonly MetricSpec[] = [
  { id: "allBack", label: "all back after accept", unit: "ms", better: "lower", digits: 0 },
  { id: "firstBack", label: "first back after accept", unit: "ms", better: "lower", digits: 0 },
  { id: "loopMax", label: "server event-loop delay max", unit: "ms", better: "lower", digits: 1 },
  { id: "back", label: "clients back", unit: "", better: "higher", digits: 0 },
  { id: "attempts", label: "connection attempts", unit: "", better: "lower", digits: 0 },
];

export async function storm(
  harness: Harness,
  contenders: readonly ContenderName[],
  params: StormParams,
): Promise<ScenarioResult> {
  const id = `storm-${params.clients}`;
  const load = await harness.load();
  const kinds = contenders.filter((c) => c !== "ws-preframed");
  const runs = await repeat(
    harness,
    id,
    kinds,
    params.runs,
    async (contender) => {
      const workers: Worker[] = [];
      try {
        const first = await harness.spawnServer(contender as ContenderName);
        workers.push(first);
        const { port } = await first.call<{ port: number }>("listen", { port: 0 });
        await load.call("stormConnect", {
          kind: contender as StormKind,
          port,
          count: params.clients,
          batch: 200,
        });
        const standby = await harness.spawnServer(contender as ContenderName);
        workers.push(standby);
        await load.call("stormArm");
        await first.kill("SIGKILL");
        await standby.call("loopDelayStart", { resolutionMs: 10 });
        const { t: acceptAt } = await standby.call<{ t: number }>("listen", { port });
        const result = await load.call<{
          back: number;
          total: number;
          firstBackAt: number;
          lastBackAt: number;
          attempts: number;
        }>("stormWait", { timeoutMs: params.timeoutMs }, params.timeoutMs + 10_000);
        const loop = await standby.call<{ maxMs: number }>("loopDelayStop");
        if (result.back < result.total) {
          throw new Error(
            `${result.back} of ${result.total} clients back within ${params.timeoutMs} ms`,
          );
        }
        return {
          allBack: result.lastBackAt - acceptAt,
          firstBack: result.firstBackAt - acceptAt,
          loopMax: loop.maxMs,
          back: result.back,
          attempts: result.attempts,
        };
      } finally {
        await load.call("stormClose");
        for (const worker of workers) await stopServer(worker);
        await load.call("closeAll");
      }
    },
    (contender) => [contender as ContenderName, contender as ContenderName],
  );
  const baseline = "ws";
  return {
    id,
    title: `Reconnect storm, ${params.clients.toLocaleString("en")} clients, server restart`,
    description:
      "The server process is SIGKILLed; a standby process that has already loaded its code listens on the same port as soon as the old one is gone. Lifeline clients are the real @lifeline/client with its default backoff; socket.io clients are socket.io-client with its defaults (websocket transport); raw ws clients reconnect with exponential backoff and full jitter (1 s base, factor 2, 30 s cap). Event-loop delay: perf_hooks.monitorEventLoopDelay (10 ms resolution) in the new server from before listen until the last client is back.",
    params: { ...params },
    baseline,
    contenders: kinds,
    metrics: METRICS.map((spec) => runs.metric(spec, kinds, baseline)),
    chartMetrics: ["allBack", "loopMax"],
    notes: [],
    errors: runs.errors,
  };
}
