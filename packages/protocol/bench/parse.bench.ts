/**
 * parse + validate against a bare `JSON.parse` of the same bytes, in the same process.
 * Target (README, "Scripts"): at most 1.3x for a 200-byte `publish`.
 *
 * The machine is shared and noisy, so the two contenders run in short alternating
 * batches (A B, B A, ...) and the ratio reported is the median of the per-round ratios:
 * a burst of noise lands on one round, not on one contender. The run is bounded by
 * `--rounds` (default 40) and `--max-ms` (default 20000).
 *
 * Usage: pnpm bench [-- --rounds 40 --batch 20000 --max-ms 20000 --strict]
 * `--strict` exits 1 when the publish target is missed.
 */
import { parseClientMessage, parseServerMessage } from "../src/index.js";
import { alternate } from "./alternate.js";

interface Scenario {
  readonly name: string;
  readonly text: string;
  readonly parse: (text: string) => { readonly ok: boolean };
  readonly target?: number;
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  const value = at >= 0 ? Number(args[at + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const rounds = option("rounds", 40);
const batch = option("batch", 20_000);
const maxMs = option("max-ms", 20_000);
const strict = args.includes("--strict");

/** A typical client publish, padded to exactly 200 bytes of UTF-8. */
function publishOf(bytes: number): string {
  const base = {
    type: "publish",
    id: "pub-000042",
    topic: "telescope/seestar-001/status",
    data: { battery: 87.5, state: "tracking", ra: "05h35m17s", dec: "-05d23m28s", note: "" },
  };
  const padding = bytes - Buffer.byteLength(JSON.stringify(base));
  if (padding < 0) throw new Error("base publish is over the size asked for");
  base.data.note = "x".repeat(padding);
  const text = JSON.stringify(base);
  if (Buffer.byteLength(text) !== bytes) throw new Error("publish is not the size asked for");
  return text;
}

const scenarios: readonly Scenario[] = [
  { name: "publish 200 B (client)", text: publishOf(200), parse: parseClientMessage, target: 1.3 },
  {
    name: "subscribe+since (client)",
    text: '{"type":"subscribe","id":"s-17","topic":"telescope/seestar-001/status","since":{"offset":1041,"epoch":"e-19c2a7"}}',
    parse: parseClientMessage,
  },
  {
    name: "request (client)",
    text: '{"type":"request","id":"r-3","method":"telescope.slew","params":{"ra":83.82,"dec":-5.39},"timeout_ms":5000}',
    parse: parseClientMessage,
  },
  { name: "ping (client)", text: '{"type":"ping"}', parse: parseClientMessage },
  {
    name: "message 200 B (server)",
    text: JSON.stringify({
      type: "message",
      topic: "telescope/seestar-001/status",
      offset: 1042,
      epoch: "e-19c2a7",
      data: { battery: 87.5, state: "tracking", ra: "05h35m17s", dec: "-05d23m28s" },
      ts: 1_764_000_000_000,
    }),
    parse: parseServerMessage,
  },
  {
    name: "response ok (server)",
    text: '{"type":"response","id":"pub-000042","ok":true,"result":{"topic":"telescope/seestar-001/status","offset":1042,"epoch":"e-19c2a7"}}',
    parse: parseServerMessage,
  },
];

let sink = 0;

function measure(scenario: Scenario, deadline: number) {
  const { text, parse } = scenario;
  if (!parse(text).ok) throw new Error(`${scenario.name}: the sample does not validate`);
  const bare = () => {
    sink ^= (JSON.parse(text) as { type: string }).type.length;
  };
  const full = () => {
    sink ^= parse(text).ok ? 1 : 2;
  };
  return alternate(bare, full, { rounds, batch, deadline });
}

const started = Date.now();
const perScenario = maxMs / scenarios.length;
console.log(
  `@lifeline/protocol parse bench: node ${process.version}, ${rounds} rounds x ${batch} ops, median of per-round ratios`,
);
console.log("scenario                   bytes  JSON.parse ns  parse+validate ns  ratio  target");
let missed = false;
for (const [index, scenario] of scenarios.entries()) {
  const deadline = started + perScenario * (index + 1);
  const result = measure(scenario, deadline);
  const verdict =
    scenario.target === undefined
      ? ""
      : result.ratio <= scenario.target
        ? `<= ${scenario.target} ok`
        : `<= ${scenario.target} MISSED`;
  if (scenario.target !== undefined && result.ratio > scenario.target) missed = true;
  console.log(
    `${scenario.name.padEnd(26)} ${String(Buffer.byteLength(scenario.text)).padStart(5)}  ${result.a.toFixed(0).padStart(13)}  ${result.b.toFixed(0).padStart(17)}  ${result.ratio.toFixed(2).padStart(5)}x  ${verdict}`,
  );
}
console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s; sink ${sink & 1})`);
if (strict && missed) process.exitCode = 1;
