/**
 * Client-side cost per received message: one subscriber receives the same Lifeline
 * stream either through @lifeline/client (parse + validate + dispatch to the
 * subscription handler) or through a bare `ws` client that JSON.parses each frame and
 * calls the handler. Measured as CPU of the load process per received message.
 */
import { type Harness, type MetricSpec, repeat, type ScenarioResult, sleep } from "../harness.js";
import type { MeasureResult } from "../load-main.js";

export interface OverheadParams {
  readonly window: number;
  readonly bytes: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly runs: number;
}

const METRICS: readonly MetricSpec[] = [
  { id: "cpu", label: "client CPU per message", unit: "µs", better: "lower", digits: 2 },
  { id: "rate", label: "messages/s received", unit: "msg/s", better: "higher", digits: 0 },
];

const KINDS = ["lifeline-client", "bare-ws"] as const;

export async function clientOverhead(
  harness: Harness,
  params: OverheadParams,
): Promise<ScenarioResult> {
  const id = "client-overhead";
  const load = await harness.load();
  const runs = await repeat(
    harness,
    id,
    KINDS,
    params.runs,
    (kind) =>
      harness.withServer("lifeline", async (server, port, controlPort) => {
        await load.call("overheadConnect", {
          kind,
          port,
          controlPort,
          progressStep: Math.max(1, Math.floor(params.window / 4)),
        });
        {
          await server.call("fanoutStart", {
            clients: 1,
            window: params.window,
            burst: 1,
            bytes: params.bytes,
          });
          await sleep(params.warmupMs);
          const l0 = await load.call<MeasureResult>("measureStart");
          await sleep(params.measureMs);
          const l1 = await load.call<MeasureResult>("measureStop");
          await server.call("fanoutStop");
          const messages = l1.delivered - l0.delivered;
          if (messages <= 0) throw new Error("no message received");
          return {
            cpu: (l1.cpuUs - l0.cpuUs) / messages,
            rate: messages / ((l1.t - l0.t) / 1000),
          };
        }
      }),
    () => ["lifeline"],
  );
  const baseline = "bare-ws";
  return {
    id,
    title: "Client overhead per received message",
    description: `One client subscribed to a Lifeline server publishing ${params.bytes}-byte messages as fast as a ${params.window}-message window allows. CPU of the load process (process.cpuUsage) per received message: @lifeline/client (parse, validate, offset bookkeeping, dispatch) against a bare ws client doing JSON.parse and calling the same handler.`,
    params: { ...params },
    baseline,
    contenders: KINDS,
    metrics: METRICS.map((spec) => runs.metric(spec, KINDS, baseline)),
    chartMetrics: ["cpu"],
    notes: [],
    errors: runs.errors,
  };
}
