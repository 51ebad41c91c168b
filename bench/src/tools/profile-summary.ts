/**
 * Summarises V8 .cpuprofile files written by `run.ts --cpu-prof`: self time by function
 * and by package, so a missed target can be traced to the code that costs.
 *   tsx src/tools/profile-summary.ts bench/results/profiles/lifeline-*.cpuprofile [--top 30]
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "30" } },
});

function where(url: string): string {
  if (url === "") return "(native/V8)";
  const pkg = /node_modules\/\.pnpm\/([^/]+)\//.exec(url) ?? /packages\/([^/]+)\//.exec(url);
  if (pkg !== null) return pkg[1]!;
  if (url.startsWith("node:")) return "node core";
  return url.replace(/^.*\/bench\//, "bench/");
}

const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
let total = 0;
for (const file of positionals) {
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const node = nodes.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (node === undefined) return;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)" || functionName === "(program)") return;
    total += dt;
    const key = `${functionName || "(anonymous)"} ${where(url)}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + dt);
    byPackage.set(where(url), (byPackage.get(where(url)) ?? 0) + dt);
  });
}

const top = Number(values.top);
const print = (title: string, map: Map<string, number>): void => {
  process.stdout.write(`\n${title} (busy ${(total / 1000).toFixed(0)} ms)\n`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${key}\n`);
  }
};
print("self time by package", byPackage);
print("self time by function", byFunction);
