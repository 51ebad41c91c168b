import type { StateChange, TransitionCause } from "@lifeline/client";
import { CloseCode, containsBinary, describeCloseCode } from "@lifeline/protocol";

/** Where a command writes: data on stdout, events and errors on stderr. */
export interface Output {
  /** One line of data on stdout. */
  data(line: string): void;
  /** One line about the connection on stderr; silent under `--quiet`. */
  event(line: string): void;
  /** One line about a failure on stderr, even under `--quiet`. */
  error(line: string): void;
}

export function createOutput(options: { readonly quiet: boolean }): Output {
  return {
    data: (line) => process.stdout.write(`${line}\n`),
    event: (line) => {
      if (!options.quiet) process.stderr.write(`${line}\n`);
    },
    error: (line) => process.stderr.write(`${line}\n`),
  };
}

/**
 * One line of JSON for stdout. Bytes (a `Uint8Array`, which only `--codec msgpack` can
 * deliver) become their standard base64 string, the rule PROTOCOL.md ("MessagePack wire")
 * gives for JSON recipients, so `tail` prints a message the same whichever codec carried it.
 */
export function jsonText(value: unknown): string {
  if (!containsBinary(value)) return JSON.stringify(value ?? null);
  return JSON.stringify(value, function bytesAsBase64(this: Record<string, unknown>, key, plain) {
    const raw = this[key];
    return raw instanceof Uint8Array ? Buffer.from(raw).toString("base64") : plain;
  });
}

/** A reason on one line: OpenSSL's messages, for one, end in a newline. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** `4401 unauthenticated (unauthenticated or invalid role): bad token`, or the reason alone. */
export function describeCause(cause: TransitionCause | undefined): string {
  if (!cause) return "";
  // 1006 is never sent (RFC 6455 section 7.4.1): the reason the client observed says more.
  const why = oneLine(cause.reason);
  if (cause.code === undefined || cause.code === CloseCode.Abnormal) return why;
  const info = describeCloseCode(cause.code);
  const reason = why && why !== info.description ? `: ${why}` : "";
  return `${cause.code} ${info.name} (${info.description})${reason}`;
}

/** `1012 service_restart: restarting`: for a screen line, without the code's description. */
export function briefCause(cause: TransitionCause | undefined): string {
  if (!cause) return "";
  const why = oneLine(cause.reason);
  if (cause.code === undefined || cause.code === CloseCode.Abnormal) return why;
  const { name } = describeCloseCode(cause.code);
  return `${cause.code} ${name}${why ? `: ${why}` : ""}`;
}

/** `connecting -> open: the server said hello`, with the retry countdown while reconnecting. */
export function describeChange(change: StateChange, now: number): string {
  const { prev, next, cause, snapshot } = change;
  let line = `${prev} -> ${next}`;
  const why = describeCause(cause);
  if (why) line += `: ${why}`;
  if (next === "reconnecting" && snapshot.nextRetryAt !== undefined) {
    const seconds = Math.max(0, snapshot.nextRetryAt - now) / 1000;
    line += ` (attempt ${snapshot.attempt}, next try in ${seconds.toFixed(1)} s)`;
  }
  return line;
}
