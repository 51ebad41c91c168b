import type { ClientMessage } from "@lifeline/protocol";
import {
  type ContractSpec,
  INBOX_TOPIC,
  type MethodResult,
  type TopicData,
} from "@lifeline/protocol";
import type { ClientEvents, LifelineClient } from "../api.js";
import { type HistoryResult, readHistory } from "../delivery/history.js";
import { type PresenceListener, queryPresence } from "../delivery/presence.js";
import type { RequestOptions } from "../delivery/requests.js";
import type { MessageHandler } from "../delivery/subscribe-options.js";
import { ClientErrorCode, LifelineError } from "../errors.js";
import type { RoundTrips } from "../state/round-trip.js";
import type { StatsRecorder } from "../state/stats.js";
import type { ConnectionStore } from "../state/store.js";
import { refuseBinaryUnderJson } from "../transport/codec.js";
import type { TransportName } from "../transport/transport.js";
import type { Emitter } from "../util/emitter.js";
import type { ConnectionLink } from "./link.js";
import type { Messaging } from "./messaging.js";
import type { ClientSettings } from "./settings.js";

const PING: ClientMessage = { type: "ping" };
const ignorePresence: PresenceListener = () => {};

/** What the application's connection calls do (reconnect/reconnector.ts). */
export interface ConnectionControl {
  connect(): void;
  reconnect(): void;
  close(): void;
  /** Connects a lazy (or non-fatally failed) client on first use. */
  ensureStarted(): void;
  /** Replaces the wires allowed; reconnects when the connection's wire is not the first. */
  setTransports(transports: readonly TransportName[]): void;
}

/** The parts the public methods delegate to. */
export interface ClientCore {
  readonly settings: ClientSettings;
  readonly store: ConnectionStore;
  readonly events: Emitter<ClientEvents>;
  readonly stats: StatsRecorder;
  readonly link: ConnectionLink;
  readonly messaging: Messaging;
  readonly roundTrips: RoundTrips;
  readonly reconnector: ConnectionControl;
}

/** The `LifelineClient` the application holds: every method delegates to one part. */
export function assembleClient<S extends ContractSpec>(core: ClientCore): LifelineClient<S> {
  const { store, events, reconnector } = core;
  return {
    clientId: core.settings.clientId,
    get status() {
      return store.getSnapshot().state;
    },
    state: store,
    connection: store,
    getSnapshot: store.getSnapshot,
    subscribeState: (listener) => events.on("state", listener),
    connect: () => reconnector.connect(),
    reconnect: () => reconnector.reconnect(),
    close: () => reconnector.close(),
    setTransports: (transports) => reconnector.setTransports(transports),
    on: (event, listener) => events.on(event, listener),
    ...subscribing<S>(core),
    ...asking<S>(core),
    ping: (pingOptions) =>
      core.roundTrips.measure(() => core.link.sendCounted("ping", PING), pingOptions),
    stats: () =>
      core.stats.snapshot({
        snapshot: store.getSnapshot(),
        clientId: core.settings.clientId,
        now: core.settings.clock.now(),
        queueSize: core.messaging.outbox.size,
        pendingRequests: core.messaging.requests.size,
        pendingPublishes: core.messaging.publishes.size,
        roundTripMs: core.roundTrips.latestMs,
      }),
  };
}

/** Handlers that last: topic subscriptions (with presence) and direct messages. */
function subscribing<S extends ContractSpec>(
  core: ClientCore,
): Pick<LifelineClient<S>, "subscribe" | "onDirect" | "members"> {
  const { presence, subscriptions } = core.messaging;
  return {
    subscribe(topic, handler, subscribeOptions = {}) {
      // Registered first, so the topic's subscribe asks for presence diffs.
      const stopPresence = subscribeOptions.presence
        ? presence.add(topic, subscribeOptions.onPresence ?? ignorePresence)
        : undefined;
      const unsubscribe = subscriptions.add(topic, handler as MessageHandler, subscribeOptions);
      core.reconnector.ensureStarted();
      return () => {
        stopPresence?.();
        unsubscribe();
      };
    },
    onDirect(handler, directOptions = {}) {
      const unsubscribe = subscriptions.add(INBOX_TOPIC, handler as MessageHandler, directOptions);
      core.reconnector.ensureStarted();
      return unsubscribe;
    },
    members: (topic) => presence.members(topic),
  };
}

/** Calls with one answer; refused at once once the client is closed. */
function asking<S extends ContractSpec>(
  core: ClientCore,
): Pick<LifelineClient<S>, "publish" | "history" | "presence" | "request"> {
  const { requests, publishes } = core.messaging;
  const closed = () => core.store.getSnapshot().state === "closed";
  const refuse = () =>
    Promise.reject(new LifelineError(ClientErrorCode.Closed, "the client is closed"));
  return {
    publish(topic, data, publishOptions) {
      if (closed()) return refuse();
      const binary = binaryRefusal(core, data, `publish to "${topic}"`);
      if (binary) return binary;
      return publishes.start(topic, data, publishOptions);
    },
    history(topic, historyOptions) {
      if (closed()) return refuse();
      return readHistory(requests, topic, historyOptions) as Promise<
        HistoryResult<TopicData<S, typeof topic>>
      >;
    },
    presence(topic, requestOptions) {
      if (closed()) return refuse();
      return queryPresence(requests, topic, requestOptions);
    },
    request(method, ...args) {
      if (closed()) return refuse();
      const [params, requestOptions] = args as [unknown, RequestOptions | undefined];
      const binary = binaryRefusal(core, params, `request "${method}"`);
      if (binary) return binary;
      return requests.start(method, params, requestOptions) as Promise<
        MethodResult<S, typeof method>
      >;
    },
  };
}

/** Binary data under the JSON codec, refused at the call (transport/codec.ts). */
function binaryRefusal(core: ClientCore, value: unknown, what: string): Promise<never> | undefined {
  try {
    refuseBinaryUnderJson(core.settings.codec, value, what);
    return undefined;
  } catch (error) {
    return Promise.reject(error);
  }
}
