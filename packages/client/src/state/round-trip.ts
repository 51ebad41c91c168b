import { ClientErrorCode, LifelineError } from "../errors.js";
import { type AbortSignalLike, abortError, onAbort } from "../util/abort.js";
import { after, type Clock } from "../util/clock.js";

/** Per-call options of `ping()`. */
export interface PingOptions {
  /**
   * Milliseconds to wait for the server's `pong`.
   * @default 5000
   */
  readonly timeoutMs?: number;
  /**
   * Gives up waiting.
   * @default undefined (not abortable)
   */
  readonly signal?: AbortSignalLike;
}

export const defaultPingTimeoutMs = 5000;

/** Pings a connection may have unanswered at once; past it `ping()` is refused. */
const MAX_OUTSTANDING = 64;

interface SentPing {
  readonly at: number;
  waiter: ((roundTripMs: number) => void) | undefined;
}

/**
 * Measures round trips with the protocol's own `ping` and `pong` (PROTOCOL.md,
 * "Liveness"): the server answers each client `ping` with a `pong`, in order, so the n-th
 * `pong` of a connection answers its n-th `ping`. The watchdog's probes are counted too,
 * so every answered ping updates `latestMs`.
 */
export class RoundTrips {
  /** The latest measured round trip, in milliseconds. */
  latestMs: number | undefined;
  private sent: SentPing[] = [];
  private readonly rejecters = new Set<(error: LifelineError) => void>();

  constructor(private readonly clock: Clock) {}

  /** A `ping` went out on the open connection (a probe, or `ping()`'s own). */
  pingSent(): SentPing {
    const ping: SentPing = { at: this.clock.now(), waiter: undefined };
    this.sent.push(ping);
    return ping;
  }

  /** A `pong` arrived: it answers the oldest unanswered ping. */
  pongReceived(): void {
    const ping = this.sent.shift();
    if (!ping) return;
    this.latestMs = this.clock.now() - ping.at;
    ping.waiter?.(this.latestMs);
  }

  /**
   * Sends a ping with `send` and resolves with its round trip. Rejects with
   * `connection_lost` when `send` cannot (no open connection) or the connection drops
   * first, with `timeout` or `aborted` as the options say.
   */
  measure(send: () => boolean, options: PingOptions = {}): Promise<number> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal, "ping"));
    if (this.sent.length >= MAX_OUTSTANDING) {
      return Promise.reject(
        new LifelineError(ClientErrorCode.QueueFull, `${MAX_OUTSTANDING} pings are unanswered`),
      );
    }
    if (!send()) {
      return Promise.reject(
        new LifelineError(ClientErrorCode.ConnectionLost, "ping needs an open connection"),
      );
    }
    const ping = this.pingSent();
    const timeoutMs = options.timeoutMs ?? defaultPingTimeoutMs;
    return new Promise<number>((resolve, reject) => {
      const done = () => {
        ping.waiter = undefined;
        this.rejecters.delete(fail);
        stopTimer();
        stopAbort();
      };
      const fail = (error: LifelineError) => {
        done();
        reject(error);
      };
      const stopTimer = after(this.clock, timeoutMs, () =>
        fail(new LifelineError(ClientErrorCode.Timeout, `no pong within ${timeoutMs} ms`)),
      );
      const stopAbort = onAbort(signal, () => fail(abortError(signal as AbortSignalLike, "ping")));
      ping.waiter = (roundTripMs) => {
        done();
        resolve(roundTripMs);
      };
      this.rejecters.add(fail);
    });
  }

  /** The connection is gone, with the answers to its pings: waiting `ping()`s reject. */
  connectionLost(error: LifelineError): void {
    this.sent = [];
    for (const fail of [...this.rejecters]) fail(error);
  }
}
