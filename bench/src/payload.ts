/** What every contender broadcasts: a sequence number, the publish time, and padding. */
export interface BenchData {
  readonly seq: number;
  /** Publish time in milliseconds since the Unix epoch, sub-millisecond precision. */
  readonly t: number;
  readonly pad: string;
}

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

/** Application data whose JSON text is exactly `bytes` long (200 in the fan-out). */
export function makeData(seq: number, bytes: number): BenchData {
  const t = Math.round(nowMs() * 1000) / 1000;
  const bare = JSON.stringify({ seq, t, pad: "" }).length;
  const n = Math.max(0, bytes - bare);
  let pad = pads.get(n);
  if (pad === undefined) {
    pad = "x".repeat(n);
    pads.set(n, pad);
  }
  return { seq, t, pad };
}

/** Request parameters of the round-trip scenario (about 64 bytes of JSON). */
export function makeParams(seq: number): { readonly seq: number; readonly pad: string } {
  return { seq, pad: "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijkl" };
}
