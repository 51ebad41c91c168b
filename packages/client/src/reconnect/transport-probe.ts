import { CloseCode, type HelloMessage } from "@lifeline/protocol";
import type { ClientSettings } from "../core/settings.js";
import type { TokenContext } from "../session/token.js";
import type { StatsRecorder } from "../state/stats.js";
import {
  type Connection,
  type ConnectionEnd,
  type ConnectionHandlers,
  openConnection,
} from "../transport/connection.js";
import type { TransportSelection } from "../transport/selection.js";
import type { TransportName } from "../transport/transport.js";
import { type AttemptInputs, prepareAttempt } from "./prepare-attempt.js";

export interface ProbeDeps {
  readonly settings: ClientSettings;
  readonly inputs: AttemptInputs;
  readonly stats: StatsRecorder;
  readonly tokenContext: () => TokenContext;
  /**
   * The probe said `hello`: the runner makes it the client's connection and returns the
   * handlers its later events go to.
   */
  readonly adopt: (connection: Connection, hello: HelloMessage) => ConnectionHandlers;
  /** A main connection's end that was held for the probe, now that the probe failed. */
  readonly release: (end: ConnectionEnd) => void;
}

/**
 * A background attempt on the preferred wire while the client runs on a fallback
 * (README, "Transports and fallback"): a real connection with the same `client_id`, so on
 * its `hello` the server has already taken the session over from the fallback connection
 * (takeover `replace`, close 4409). That 4409 is the switch, not a replaced session: the
 * main connection's end is held until the probe either says `hello` (the end is dropped)
 * or fails (the end is released as an ordinary drop). Nothing is lost or delivered twice:
 * the adopted connection resubscribes from the delivered offsets and the outbox replays
 * with the same ids, as after any reconnect.
 */
export class TransportProbe {
  /** Bumped by every start and cancel: steps of an older probe stop. */
  #id = 0;
  #connection: Connection | undefined;
  #held: ConnectionEnd | undefined;
  #selection: TransportSelection | undefined;
  readonly #deps: ProbeDeps;

  constructor(deps: ProbeDeps) {
    this.#deps = deps;
  }

  /** The selection whose `probe` calls `start`, and that hears how each probe ended. */
  attach(selection: TransportSelection): void {
    this.#selection = selection;
  }

  /** Starts a probe of `wire` (the selection's timer calls this). */
  start(wire: TransportName): void {
    this.#id += 1;
    const id = this.#id;
    this.#deps.stats.probesStarted += 1;
    this.#deps.settings.log.info("probing the preferred transport", { transport: wire });
    void this.#run(id, wire);
  }

  /**
   * The main connection ended with `end`. True when the end is held: it is the 4409 of
   * the probe in flight taking the session over.
   */
  hold(end: ConnectionEnd): boolean {
    if (this.#connection === undefined || end.cause.code !== CloseCode.SessionReplaced)
      return false;
    this.#held = end;
    return true;
  }

  /** Stops a probe in flight, quietly (the main connection went away or the client closed). */
  cancel(): void {
    if (this.#selection?.probing === undefined) return;
    this.#id += 1;
    this.#held = undefined;
    const connection = this.#connection;
    this.#connection = undefined;
    connection?.close(CloseCode.Normal, "probe cancelled");
    this.#selection.probeEnded({ greeted: false });
  }

  async #run(id: number, wire: TransportName): Promise<void> {
    const isCurrent = () => id === this.#id;
    const deps = this.#deps;
    const prepared = await prepareAttempt(deps.inputs, deps.tokenContext(), isCurrent, wire);
    if (!prepared || !isCurrent()) return;
    if (!prepared.ok) {
      this.#failed(id, { cause: prepared.cause, greeted: false });
      return;
    }
    try {
      this.#connection = openConnection({
        url: prepared.url,
        transport: prepared.transport,
        protocols: prepared.protocols,
        codecs: prepared.codecs,
        clock: deps.settings.clock,
        connectTimeoutMs: deps.settings.connectTimeoutMs,
        helloTimeoutMs: deps.settings.helloTimeoutMs,
        maxMessageChars: deps.settings.maxMessageChars,
        handlers: this.#handlers(id),
      });
    } catch (error) {
      const reason = `the probe could not start: ${error instanceof Error ? error.message : String(error)}`;
      this.#failed(id, { cause: { reason, errorClass: "unknown" }, greeted: false });
    }
  }

  /** Until `hello`, only the end matters; after it, events go where `adopt` says. */
  #handlers(id: number): ConnectionHandlers {
    let adopted: ConnectionHandlers | undefined;
    return {
      onHello: (hello) => {
        const connection = this.#connection;
        if (id !== this.#id || connection === undefined) return;
        this.#connection = undefined;
        this.#held = undefined;
        this.#selection?.probeEnded({ greeted: true });
        adopted = this.#deps.adopt(connection, hello);
      },
      onMessage: (message) => adopted?.onMessage(message),
      onFrame: () => adopted?.onFrame(),
      onInvalid: (issue) => adopted?.onInvalid(issue),
      onEnd: (end) => {
        if (adopted) adopted.onEnd(end);
        else this.#failed(id, end);
      },
    };
  }

  #failed(id: number, end: ConnectionEnd): void {
    if (id !== this.#id) return;
    this.#connection = undefined;
    this.#deps.stats.probesFailed += 1;
    this.#deps.settings.log.info("the probe failed; staying on the fallback", {
      reason: end.cause.reason,
      ...(end.cause.code === undefined ? {} : { code: end.cause.code }),
    });
    this.#selection?.probeEnded(end);
    const held = this.#held;
    this.#held = undefined;
    if (held === undefined) return;
    // Our own probe replaced the fallback connection and then failed: an ordinary drop,
    // retried on the schedule, not the fatal 4409 of another client taking the session.
    this.#deps.release({
      greeted: held.greeted,
      cause: {
        reason: `the connection was taken over by a probe that then failed (${end.cause.reason})`,
        errorClass: "abnormal",
      },
    });
  }
}
