/**
 * What every contender broadcasts: a sequence number, the publish time, and a body that
 * brings the message to its size: `pad` (a string) or `values` (numbers, telemetry).
 */
export interface BenchData {
  readonly seq: number;
  /** Publish time in milliseconds since the Unix epoch, sub-millisecond precision. */
  readonly t: number;
  readonly pad?: string;
  readonly values?: readonly number[];
}

/**
 * The body of a broadcast: `padded` is the 200-byte message of the fan-out benchmarks
 * (docs/performance.md; a string does not shrink in any codec); `telemetry` is an array of
 * sensor readings, where a binary codec can save bytes and encoding work.
 */
export type PayloadKind = "padded" | "telemetry";

/** The topic every fan-out publishes on, and the method every request calls. */
export const TOPIC = "bench";
export const ECHO_METHOD = "echo";

/**
 * Wall-clock milliseconds with sub-millisecond precision. Every process on the machine
 * reads the same clock, so a time taken in the server and one taken in the load
 * process can be subtracted (to within a few microseconds).
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const pads = new Map<number, string>();
const readings = new Map<number, readonly number[]>();

/**
 * Application data whose JSON text is `bytes` long (200 in the fan-out benchmarks): exactly
 * for `padded`, at most and to within one reading for `telemetry`; `at` is the time its
 * latency counts from.
 */
export function makeData(
  seq: number,
  bytes: number,
  kind: PayloadKind = "padded",
  at: number = nowMs(),
): BenchData {
  const t = Math.round(at * 1000) / 1000;
  if (kind === "telemetry") {
    let values = readings.get(bytes);
    if (values === undefined) {
      values = telemetryValues(bytes - JSON.stringify({ seq, t, values: [] }).length);
      readings.set(bytes, values);
    }
    return { seq, t, values };
  }
  const bare = JSON.stringify({ seq, t, pad: "" }).length;
  const n = Math.max(0, bytes - bare);
  let pad = pads.get(n);
  if (pad === undefined) {
    pad = "x".repeat(n);
    pads.set(n, pad);
  }
  return { seq, t, pad };
}

/**
 * Readings as a device reports them, in equal thirds: computed doubles (full precision,
 * 17 or 18 characters in JSON, 9 bytes in MessagePack), values rounded to two decimals
 * (5 characters in JSON, still a 9-byte double in MessagePack: the case where JSON is the
 * smaller) and integer counters (6 characters, 5 bytes). Deterministic, so every contender
 * and every run sends the same numbers. Their JSON array (commas included)
 * fills at most `chars` characters, to within one reading.
 */
export function telemetryValues(chars: number): number[] {
  const values: number[] = [];
  let used = 0;
  for (let i = 0; ; i++) {
    const phase = i % 3;
    const value =
      phase === 0
        ? 20 + 5 * Math.sin(i / 10)
        : phase === 1
          ? Math.round((50 + 20 * Math.cos(i / 7)) * 100) / 100
          : 100_000 + i * 13;
    const width = String(value).length + (values.length > 0 ? 1 : 0);
    if (used + width > chars) return values;
    used += width;
    values.push(value);
  }
}

/** Request parameters of the round-trip scenario (about 64 bytes of JSON). */
export function makeParams(seq: number): { readonly seq: number; readonly pad: string } {
  return { seq, pad: "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijkl" };
}
