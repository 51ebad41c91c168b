/**
 * The benchmark runner. Every contender's server runs in its own process, the clients in
 * one separate load process, all on 127.0.0.1; every run is bounded in time.
 *
 *   tsx src/run.ts --profile quick|full [--only fanout,rpc,...] [--contenders a,b]
 *                  [--runs n] [--scale-sizes 1000,5000] [--cpu-prof] [--heap-snapshot]
 *                  [--source] [--doc] [--out dir]
 *                  [--report-only]
 *
 * Writes results.json, results.md and one SVG chart per scenario to bench/results/, and
 * with --doc (default for the full profile) regenerates docs/performance.md.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CONTENDERS, type ContenderName, WIRE_VARIANTS } from "./contenders/types.js";
import { Harness, type ScenarioResult } from "./harness.js";
import { type Profile, profiles, scaleAt } from "./profiles.js";
import { renderCurves, scaleResults } from "./report/curves.js";
import { renderDoc } from "./report/doc.js";
import { checkTargets, resultsMarkdown, type TargetCheck } from "./report/markdown.js";
import { renderChart } from "./report/svg.js";
import { accept } from "./scenarios/accept.js";
import { clientOverhead } from "./scenarios/client-overhead.js";
import { crossNode } from "./scenarios/cross-node.js";
import { fanout } from "./scenarios/fanout.js";
import { memory } from "./scenarios/memory.js";
import { rpc } from "./scenarios/rpc.js";
import { SCALE_CURVES, scale } from "./scenarios/scale.js";
import { storm } from "./scenarios/storm.js";
import { TARGETS } from "./targets.js";

const SCENARIOS = [
  "fanout",
  "burst",
  "rpc",
  "memory",
  "accept",
  "storm",
  "client-overhead",
  "scale",
  "cross-node",
];

const { values: args } = parseArgs({
  options: {
    profile: { type: "string", default: "quick" },
    only: { type: "string" },
    contenders: { type: "string" },
    runs: { type: "string" },
    /** Connection counts for the scale scenario instead of the profile's, e.g. 500,2000. */
    "scale-sizes": { type: "string" },
    "cpu-prof": { type: "boolean", default: false },
    source: { type: "boolean", default: false },
    "heap-snapshot": { type: "boolean", default: false },
    "report-only": { type: "boolean", default: false },
    doc: { type: "boolean" },
    out: { type: "string" },
  },
});

const profileName = args.profile === "full" ? "full" : "quick";
const benchDir = fileURLToPath(new URL("..", import.meta.url));
// The quick profile keeps its own directory so it never overwrites the full results
// that docs/performance.md shows.
const outDir = args.out ?? `${benchDir}results${profileName === "quick" ? "/quick" : ""}`;
const only = new Set((args.only ?? SCENARIOS.join(",")).split(","));
const contenders = (args.contenders?.split(",") ?? [...CONTENDERS]).filter(
  (c): c is ContenderName => (CONTENDERS as readonly string[]).includes(c),
);
const writeDoc = args.doc ?? profileName === "full";

function withRuns<T extends { readonly runs: number }>(list: readonly T[]): T[] {
  const runs = args.runs === undefined ? undefined : Math.max(3, Number(args.runs));
  return list.map((p) => (runs === undefined ? p : { ...p, runs }));
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Which code was measured: the commit, and whether the packages had uncommitted changes. */
function revision(): { commit: string; dirtyPackages: string[] } {
  const git = (...gitArgs: string[]): string =>
    execFileSync("git", gitArgs, { cwd: benchDir, encoding: "utf8" }).trim();
  try {
    const dirty = git("status", "--porcelain", "--", "../packages")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => line.slice(3).split("/")[1] ?? "")
      .filter((pkg, i, all) => pkg !== "" && all.indexOf(pkg) === i);
    return { commit: git("rev-parse", "--short", "HEAD"), dirtyPackages: dirty };
  } catch {
    return { commit: "unknown", dirtyPackages: [] };
  }
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? "unknown",
    cpuCount: cpus.length,
    cpuMHz: cpus[0]?.speed ?? 0,
    totalMemGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadAvgAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** The children load @lifeline/* from dist: say so when a build is older than its sources. */
async function warnIfStale(): Promise<void> {
  for (const pkg of ["protocol", "backoff", "server", "client"]) {
    const root = `${benchDir}../packages/${pkg}`;
    const built = await stat(`${root}/dist/index.js`).catch(() => undefined);
    const sources = await readdir(`${root}/src`).catch(() => [] as string[]);
    let newest = 0;
    for (const file of sources) {
      newest = Math.max(newest, (await stat(`${root}/src/${file}`)).mtimeMs);
    }
    if (built === undefined || built.mtimeMs < newest) {
      log(
        `warning: packages/${pkg}/dist is missing or older than src: run \`pnpm build\` (or pass --source)`,
      );
    }
  }
}

/**
 * The load process holds `clients` sockets, and so does the server: both must fit under the
 * soft file limit this runner was started with (children inherit it; Node cannot raise it).
 */
function fitsFileLimit(clients: number): boolean {
  let limit = Number.POSITIVE_INFINITY;
  try {
    limit = Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim());
  } catch {
    return true;
  }
  // Headroom for the runtime's own descriptors, IPC and control sockets.
  if (!Number.isFinite(limit) || clients + 500 <= limit) return true;
  log(
    `\nscale ${clients} SKIPPED: needs ${clients + 500} file descriptors per process, the limit is ${limit}; raise it with \`ulimit -n\` before the run`,
  );
  return false;
}

interface Meta {
  readonly command: string;
  readonly argv: string;
  readonly profile: string;
  readonly date: string;
  readonly machine: Record<string, unknown>;
  readonly revision?: { readonly commit: string; readonly dirtyPackages: readonly string[] };
}

/**
 * Writes results.json, results.md, the charts and (with --doc) docs/performance.md.
 * Called after every scenario, so an interrupted run still leaves what it measured.
 */
async function writeOutputs(
  meta: Meta,
  started: number,
  results: readonly ScenarioResult[],
  saved?: { durationS: number; loadAvgAtEnd: number[] },
): Promise<Meta & { durationS: number; loadAvgAtEnd: number[]; checks: TargetCheck[] }> {
  const checks = checkTargets(TARGETS, results);
  const finished = {
    ...meta,
    durationS: saved?.durationS ?? Math.round((Date.now() - started) / 1000),
    loadAvgAtEnd: saved?.loadAvgAtEnd ?? os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  await writeFile(
    `${outDir}/results.json`,
    `${JSON.stringify({ meta: finished, targets: checks, scenarios: results }, null, 2)}\n`,
  );
  for (const scenario of results) {
    await writeFile(`${outDir}/${scenario.id}.svg`, renderChart(scenario));
  }
  if (scaleResults(results).length > 0) {
    await writeFile(`${outDir}/scale-curves.svg`, renderCurves(results, SCALE_CURVES));
  }
  const table = resultsMarkdown(results, checks, "./");
  await writeFile(
    `${outDir}/results.md`,
    `# Lifeline benchmark results (${profileName})\n\n\`${finished.command}\` on ${finished.date}, ${finished.durationS} s.\n\n${table}`,
  );
  if (writeDoc) {
    const notesPath = `${benchDir}performance-notes.md`;
    const notes = await readFile(notesPath, "utf8").catch(() => "");
    const doc = renderDoc(finished, resultsMarkdown(results, checks, "../bench/results/"), notes);
    await writeFile(`${benchDir}../docs/performance.md`, doc);
  }
  return { ...finished, checks };
}

/** --report-only: rewrite the tables, charts and doc from results.json without measuring. */
async function report(): Promise<void> {
  const saved = JSON.parse(await readFile(`${outDir}/results.json`, "utf8")) as {
    meta: Meta & { durationS: number; loadAvgAtEnd: number[] };
    scenarios: ScenarioResult[];
  };
  await writeOutputs(saved.meta, 0, saved.scenarios, saved.meta);
  log(`rewrote the reports of ${outDir}/results.json${writeDoc ? " and docs/performance.md" : ""}`);
}

async function main(): Promise<void> {
  const profile: Profile = profiles[profileName];
  const started = Date.now();
  const meta = {
    command: `pnpm ${profileName === "full" ? "bench:full" : "bench"}`,
    argv: process.argv.slice(2).join(" "),
    profile: profileName,
    date: new Date().toISOString(),
    machine: machine(),
    revision: revision(),
  };
  log(`lifeline bench: profile ${profileName}, contenders ${contenders.join(", ")}`);
  log(`machine: ${JSON.stringify(meta.machine)}`);
  await mkdir(outDir, { recursive: true });
  // Charts of scenarios this run does not measure would be stale.
  for (const file of await readdir(outDir)) {
    if (file.endsWith(".svg")) await rm(`${outDir}/${file}`);
  }
  const cpuProfDir = args["cpu-prof"] ? `${outDir}/profiles` : undefined;
  if (cpuProfDir !== undefined) await mkdir(cpuProfDir, { recursive: true });
  if (!args.source) await warnIfStale();
  const harness = new Harness({
    log,
    source: args.source,
    reuseServers: profileName === "quick",
    ...(cpuProfDir === undefined ? {} : { cpuProfDir }),
  });
  const results: ScenarioResult[] = [];
  const step = async (name: string, body: () => Promise<ScenarioResult>): Promise<void> => {
    await measure(name, body);
    await writeOutputs(meta, started, results);
  };
  const measure = async (name: string, body: () => Promise<ScenarioResult>): Promise<void> => {
    log(`\n${name}`);
    try {
      const before = os.loadavg()[0]!;
      const result = await body();
      // The machine may be shared: the 1-minute load average around each scenario says how much.
      results.push({
        ...result,
        notes: [
          ...result.notes,
          `1-minute load average ${before.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after (${os.cpus().length} CPUs).`,
        ],
      });
    } catch (error) {
      log(`  ${name} FAILED: ${error instanceof Error ? error.stack : String(error)}`);
    }
  };
  try {
    // An explicit --contenders list wins over the profile's skips.
    const forScenario = (scenario: string, list: readonly ContenderName[]): ContenderName[] =>
      list.filter((c) => args.contenders !== undefined || !profile.skip[scenario]?.includes(c));
    if (only.has("fanout")) {
      for (const p of withRuns(profile.fanout)) {
        const list = forScenario("fanout", contenders).filter(
          (c) => p.only === undefined || p.only.contenders.includes(c),
        );
        if (list.length === 0) continue;
        const label = `fan-out ${p.payload === "telemetry" ? `telemetry ${p.bytes} B ` : ""}${p.clients}`;
        await step(label, () => fanout(harness, list, p));
      }
    }
    if (only.has("burst")) {
      for (const p of withRuns(profile.burst))
        await step(`fan-out burst ${p.clients}`, () =>
          fanout(harness, forScenario("burst", contenders), p),
        );
    }
    // Lifeline's other wires are compared with its WebSocket + JSON in the fan-outs only.
    const ours = contenders.filter((c) => !WIRE_VARIANTS.includes(c));
    const single = ours.filter((c) => c !== "ws-preframed");
    if (only.has("rpc")) {
      for (const p of withRuns(profile.rpc))
        await step(`rpc ${p.clients}`, () => rpc(harness, single, p));
    }
    if (only.has("memory")) {
      const heapSnapshotDir = args["heap-snapshot"] ? `${outDir}/heap` : undefined;
      if (heapSnapshotDir !== undefined) await mkdir(heapSnapshotDir, { recursive: true });
      for (const p of withRuns(profile.memory))
        await step(`memory ${p.clients}`, () =>
          memory(harness, single, heapSnapshotDir === undefined ? p : { ...p, heapSnapshotDir }),
        );
    }
    if (only.has("accept")) {
      for (const p of withRuns(profile.accept))
        await step(`accept ${p.clients}`, () => accept(harness, single, p));
    }
    if (only.has("storm")) {
      for (const p of withRuns(profile.storm))
        await step(`storm ${p.clients}`, () => storm(harness, forScenario("storm", single), p));
    }
    if (only.has("scale")) {
      const scaleContenders = ours.filter((c) => c !== "ws");
      const sizes = args["scale-sizes"]?.split(",").map(Number);
      const list = sizes === undefined ? profile.scale : sizes.filter((n) => n > 0).map(scaleAt);
      for (const p of withRuns(list)) {
        if (!fitsFileLimit(p.clients)) continue;
        await step(`scale ${p.clients}`, () =>
          scale(harness, forScenario("scale", scaleContenders), p),
        );
      }
    }
    if (only.has("client-overhead") && contenders.includes("lifeline")) {
      for (const p of withRuns(profile.clientOverhead))
        await step("client overhead", () => clientOverhead(harness, p));
    }
    // Lifeline only (memory against Redis), so it runs whichever contenders were asked for.
    if (only.has("cross-node") && contenders.includes("lifeline")) {
      for (const p of withRuns(profile.crossNode))
        await step(`cross-node ${p.clients}`, () => crossNode(harness, p));
    }
  } finally {
    await harness.close();
  }

  const finished = await writeOutputs(meta, started, results);
  log(
    `\nwrote ${outDir}/results.{json,md} and ${results.length} charts in ${finished.durationS} s`,
  );
  for (const c of finished.checks) {
    log(
      `  ${c.met === undefined ? "n/a   " : c.met ? "met   " : "MISSED"} ${c.text}: ${Number.isFinite(c.measured) ? c.measured.toFixed(2) : "n/a"} (${c.op} ${c.limit})`,
    );
  }
}

// Ctrl-C or a kill still runs the exit hook that stops every child process.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

if (args["report-only"]) await report();
else await main();
process.exit(0);
