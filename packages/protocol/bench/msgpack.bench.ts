/**
 * The MessagePack codec against the JSON codec, both encoding and decode + validate, in
 * the same process (see alternate.ts for the method). Prints bytes on the wire and the
 * CPU ratio msgpack / JSON for a 200-byte status message and 4 KB numeric telemetry.
 *
 * Usage: pnpm bench:msgpack [-- --rounds 30 --batch 5000 --max-ms 20000]
 */
import {
  parseServerMessage,
  type ServerMessage,
  serializeMessage,
  type TopicMessage,
} from "../src/index.js";
import { encodeMessagePack, parseServerMessagePack } from "../src/msgpack.js";
import { alternate } from "./alternate.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  const value = at >= 0 ? Number(args[at + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const rounds = option("rounds", 30);
const batch = option("batch", 5_000);
const maxMs = option("max-ms", 20_000);

const message = (data: unknown): TopicMessage => ({
  type: "message",
  topic: "telescope/seestar-001/status",
  offset: 1042,
  epoch: "e-19c2a7",
  data,
  ts: 1_764_000_000_000,
});

function telemetry(): TopicMessage {
  const samples: number[] = [];
  const filled = message({ mount: "m-1", samples });
  for (let i = 0; Buffer.byteLength(serializeMessage(filled)) < 4096; i += 1) {
    samples.push(Math.round(Math.sin(i) * 30_000));
  }
  return filled;
}

const scenarios: readonly { name: string; message: ServerMessage }[] = [
  {
    name: "status 200 B",
    message: message({ battery: 87.5, state: "tracking", ra: "05h35m17s", dec: "-05d23m28s" }),
  },
  { name: "telemetry 4 KB", message: telemetry() },
];

let sink = 0;
const started = Date.now();
const perRun = maxMs / (scenarios.length * 2);
console.log(
  `@lifeline/protocol msgpack bench: node ${process.version}, median of per-round ratios`,
);
console.log("scenario         JSON B  msgpack B  encode ratio  decode+validate ratio");
for (const [index, { name, message: sample }] of scenarios.entries()) {
  const text = serializeMessage(sample);
  const bytes = encodeMessagePack(sample);
  const encode = alternate(
    () => {
      sink ^= serializeMessage(sample).length;
    },
    () => {
      sink ^= encodeMessagePack(sample).byteLength;
    },
    { rounds, batch, deadline: started + perRun * (2 * index + 1) },
  );
  const decode = alternate(
    () => {
      sink ^= parseServerMessage(text).ok ? 1 : 2;
    },
    () => {
      sink ^= parseServerMessagePack(bytes).ok ? 1 : 2;
    },
    { rounds, batch, deadline: started + perRun * (2 * index + 2) },
  );
  console.log(
    `${name.padEnd(16)} ${String(Buffer.byteLength(text)).padStart(6)}  ${String(bytes.byteLength).padStart(9)}  ${encode.ratio.toFixed(2).padStart(11)}x  ${decode.ratio.toFixed(2).padStart(20)}x`,
  );
}
console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s; sink ${sink & 1})`);
