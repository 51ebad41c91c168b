/**
 * Benchmarks of where subscriptions start and of conflation, Lifeline alone (the other
 * contenders have no such features), each figure against a baseline measured in the same
 * run. Part of `pnpm bench:full`; writes bench/results/subscriptions.{json,md}.
 *
 *   tsx src/subscriptions/run.ts [--quick] [--source]
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { summarise } from "../stats.js";
import { measureConflatedFanout } from "./conflated-fanout.js";
import { openControl, startBenchServer } from "./control.js";
import { measureStartPositions } from "./start-positions.js";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    source: { type: "boolean", default: false },
  },
});

interface Check {
  readonly text: string;
  readonly value: number;
  readonly op: "<=" | "==";
  readonly limit: number;
}

const fmt = (value: number, digits = 2) => value.toFixed(digits);

async function main(): Promise<void> {
  const started = Date.now();
  const server = await startBenchServer(args.source);
  try {
    const control = await openControl(server.port);
    const start = await measureStartPositions(control, args.quick ? 3 : 5);
    const fanout = await measureConflatedFanout(server.port, control, {
      clients: 1000,
      slow: 100,
      ratePerS: 20,
      keys: 100,
      bytes: 200,
      measureMs: args.quick ? 2000 : 5000,
      runs: args.quick ? 1 : 3,
    });
    control.close();
    const allReading = summarise(fanout.p99AllReadingMs);
    const withSlow = summarise(fanout.p99WithSlowMs);
    const perSlow = summarise(fanout.bytesPerSlowClient);
    const checks: Check[] = [
      {
        text: "subscribe with rewind: 1 vs plain, 1,000 retained: server CPU per subscribe",
        value: start.rewindSubscribeUs / start.plainSubscribeUs,
        op: "<=",
        limit: 1.5,
      },
      {
        text: "conflated fan-out to 1,000, 100 reading 1 msg/s: fast clients' p99 vs none slow",
        value: withSlow.median / allReading.median,
        op: "<=",
        limit: 1.2,
      },
      {
        text: "slow readers of the conflated topic closed",
        value: fanout.slowClosed,
        op: "==",
        limit: 0,
      },
    ];
    const passed = (c: Check) => (c.op === "<=" ? c.value <= c.limit : c.value === c.limit);
    const lines = [
      "| figure | value |",
      "| --- | --- |",
      `| subscribe + unsubscribe, 1,000 retained, plain | ${fmt(start.plainSubscribeUs, 1)} µs server CPU |`,
      `| subscribe + unsubscribe, 1,000 retained, \`rewind: 1\` | ${fmt(start.rewindSubscribeUs, 1)} µs (${fmt(start.rewindSubscribeUs / start.plainSubscribeUs)}x) |`,
      `| history page of 100 messages | ${fmt(start.historyPageUs, 1)} µs server CPU |`,
      `| plain request (the same connection) | ${fmt(start.requestUs, 1)} µs (page: ${fmt(start.historyPageUs / start.requestUs, 1)}x) |`,
      `| conflated fan-out, 900 fast clients' p99, all 1,000 reading | ${fmt(allReading.median)} ms (runs ${fanout.p99AllReadingMs.map((v) => fmt(v)).join(", ")}) |`,
      `| the same, 100 reading 1 msg/s | ${fmt(withSlow.median)} ms (runs ${fanout.p99WithSlowMs.map((v) => fmt(v)).join(", ")}) |`,
      `| server live memory per slow reader (heap + external, after GC) | ${Math.round(perSlow.median).toLocaleString("en")} bytes (runs ${fanout.bytesPerSlowClient.map((v) => Math.round(v).toLocaleString("en")).join(", ")}) |`,
      `| conflated catch-ups / slow readers closed | ${fanout.catchUps} / ${fanout.slowClosed} |`,
      "",
      "| target | measured | limit | |",
      "| --- | --- | --- | --- |",
      ...checks.map(
        (c) =>
          `| ${c.text} | ${fmt(c.value)} | ${c.op} ${c.limit} | ${passed(c) ? "met" : "**missed**"} |`,
      ),
    ];
    const durationS = Math.round((Date.now() - started) / 1000);
    const header = `Measured ${new Date().toISOString()} in ${durationS} s on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "unknown"}, load average ${os
      .loadavg()
      .map((l) => fmt(l))
      .join(", ")}${args.source ? ", packages from source" : ""}.`;
    const outDir = fileURLToPath(
      new URL(`../../results/${args.quick ? "quick/" : ""}`, import.meta.url),
    );
    await writeFile(
      `${outDir}subscriptions.json`,
      `${JSON.stringify({ start, fanout, checks: checks.map((c) => ({ ...c, passed: passed(c) })) }, null, 2)}\n`,
    );
    await writeFile(
      `${outDir}subscriptions.md`,
      `# Subscriptions and conflation\n\n${header}\n\n${lines.join("\n")}\n`,
    );
    process.stdout.write(`${header}\n${lines.join("\n")}\n`);
  } finally {
    server.stop();
  }
}

void main();
