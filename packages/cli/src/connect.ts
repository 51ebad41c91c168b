import { randomBytes } from "node:crypto";
import { exponential } from "@lifeline/backoff";
import {
  createClient,
  type LifelineClient,
  type TransitionCause,
  type WebSocketConstructor,
} from "@lifeline/client";
import { WebSocket } from "ws";
import type { CommonOptions } from "./args.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { describeCause, describeChange, type Output } from "./output.js";

/**
 * `ws` with the `--header`s on every upgrade. The CLI always uses `ws`, not Node 22's
 * global WebSocket, which cannot send headers, so a command behaves the same on every Node.
 */
function socketWithHeaders(headers: Readonly<Record<string, string>>): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  } as unknown as WebSocketConstructor;
}

/**
 * `fetch` with the `--header`s on every request, for the SSE transport (its event stream
 * and its posts), so a header-checking server or proxy sees them on either wire.
 */
function fetchWithHeaders(headers: Readonly<Record<string, string>>): typeof fetch {
  return (input, init) => {
    const merged = new Headers(init?.headers);
    for (const [name, value] of Object.entries(headers)) merged.set(name, value);
    return fetch(input, { ...init, headers: merged });
  };
}

/**
 * A client for one command. It retries for as long as the process lives: one-shot commands
 * bound the wait with `--timeout`, `tail` and `monitor` are meant to outlive an outage.
 * Equal jitter keeps every delay at least half its nominal value, so the countdown a
 * monitor shows is never a blink.
 */
export function createCliClient(url: string, common: CommonOptions): LifelineClient {
  return createClient({
    url,
    clientId: common.clientId ?? `cli-${randomBytes(4).toString("hex")}`,
    ...(common.token === undefined ? {} : { token: common.token }),
    WebSocket: socketWithHeaders(common.headers),
    sse: { fetch: fetchWithHeaders(common.headers) },
    ...(common.transports === undefined ? {} : { transports: common.transports }),
    ...(common.codec === undefined ? {} : { codec: common.codec }),
    backoff: exponential({
      baseMs: 500,
      capMs: 10_000,
      maxAttempts: Number.POSITIVE_INFINITY,
      jitter: "equal",
    }),
    lifecycle: false,
    logLevel: common.debug ? "debug" : "silent",
    logger: (record) => {
      const fields = record.fields ? ` ${JSON.stringify(record.fields)}` : "";
      process.stderr.write(`[client ${record.level}] ${record.message}${fields}\n`);
    },
  });
}

/** What a one-shot command needs to know about its connection. */
export interface ConnectionWatch {
  /** Rejects (exit 2) when the client gives up: a fatal close such as 4401, 4403, 4409. */
  readonly failed: Promise<never>;
  /** True once `hello` arrived at least once. */
  readonly everOpened: () => boolean;
  /** The latest failure, for "never connected (last: ...)". */
  readonly lastCause: () => TransitionCause | undefined;
  readonly stop: () => void;
}

/** Prints state changes as events and turns a client that gave up into an exit-2 error. */
export function watchConnection(client: LifelineClient, output: Output): ConnectionWatch {
  let opened = false;
  let last: TransitionCause | undefined;
  let reject!: (error: CliError) => void;
  const failed = new Promise<never>((_, rej) => {
    reject = rej;
  });
  // Nobody may await it (the command finished first); it must not crash the process.
  failed.catch(() => {});
  const stop = client.on("state", (change) => {
    output.event(describeChange(change, Date.now()));
    if (change.next === "open") opened = true;
    if (change.cause.code !== undefined || change.cause.errorClass !== undefined) {
      last = change.cause;
    }
    if (change.next === "failed") {
      reject(
        new CliError(
          ExitCode.Unreachable,
          `${opened ? "connection ended" : "connection refused"}: ${describeCause(change.cause)}`,
        ),
      );
    }
  });
  return { failed, everOpened: () => opened, lastCause: () => last, stop };
}

/** The exit-2 error for a deadline that passed, saying whether the socket ever opened. */
export function timeoutError(url: string, timeoutMs: number, watch: ConnectionWatch): CliError {
  if (watch.everOpened())
    return new CliError(ExitCode.Unreachable, `no answer within ${timeoutMs} ms`);
  const last = describeCause(watch.lastCause());
  return new CliError(
    ExitCode.Unreachable,
    `could not connect to ${url} within ${timeoutMs} ms${last ? ` (last: ${last})` : ""}`,
  );
}

/** Resolves once the client is open (at once when it already is). */
export function whenOpen(client: LifelineClient): Promise<void> {
  if (client.status === "open" || client.status === "degraded") return Promise.resolve();
  return new Promise((resolve) => {
    const stop = client.on("state", ({ next }) => {
      if (next !== "open") return;
      stop();
      resolve();
    });
  });
}

/** Rejects with `error()` after `ms`; `cancel()` it once the race is over. */
export function deadline(
  ms: number,
  error: () => Error,
): { promise: Promise<never>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
