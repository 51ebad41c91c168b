import {
  type ClientOptions,
  type ClientState,
  createClient,
  type LifelineClient,
  type WebSocketConstructor,
} from "@lifeline/client";
import { countdown, deferred, within } from "@lifeline/test-support";
import { WebSocket } from "ws";
import type { History } from "./history.js";

/**
 * `ws`'s WebSocket with a tap on every text frame received, so a test can wait for a
 * protocol event the client API does not surface (`subscribed`) instead of polling.
 */
export function tappedWebSocket(onFrame: (frame: string) => void): WebSocketConstructor {
  class Tapped extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener("message", (event) => {
        if (typeof event.data === "string") onFrame(event.data);
      });
    }
  }
  return Tapped as unknown as WebSocketConstructor;
}

/**
 * A client outside the fleet (an observer publishing markers, a lone publisher), made the
 * way the fleet's members are: no lifecycle hooks, silent, on the tapped `ws`.
 */
export function quietClient(
  options: Pick<ClientOptions, "url" | "clientId"> & Partial<ClientOptions>,
): LifelineClient {
  return createClient({
    lifecycle: false,
    logLevel: "silent",
    WebSocket: tappedWebSocket(() => {}),
    ...options,
  });
}

export interface FleetMember {
  readonly name: string;
  readonly client: LifelineClient;
  readonly topics: readonly string[];
  /** `subscribed` answers received on the current connection. */
  subscribedOnConnection: number;
  /** Connections that reached `open`. */
  opens: number;
}

export interface FleetOptions {
  /** One URL, a list rotated on failed attempts (several nodes), or a provider. */
  readonly url: ClientOptions["url"];
  /** Per-client URL option instead of `url` (e.g. each node list in its own order). */
  readonly urlOf?: (index: number) => ClientOptions["url"];
  readonly count: number;
  /** Client ids are `<prefix>-<index>`. */
  readonly prefix: string;
  /** Topics client `index` subscribes to (its deliveries go to the history). */
  readonly topicsOf: (index: number) => readonly string[];
  readonly history: History;
  readonly clientOptions?: Partial<ClientOptions>;
}

export interface Fleet {
  readonly members: readonly FleetMember[];
  /** Clients currently `open` (or `degraded`). */
  readonly openCount: number;
  /** Resolves when `predicate` holds for every member; re-checked on every state change and frame. */
  whenAll(
    predicate: (member: FleetMember) => boolean,
    label: string,
    timeoutMs: number,
  ): Promise<void>;
  /** Every member open, with every topic's `subscribed` answered on its current connection. */
  whenAllLive(timeoutMs: number): Promise<void>;
  /** Members in a given state. */
  inState(state: ClientState["state"]): FleetMember[];
  close(): void;
}

const MARKER = "marker:";

/** Is this data a marker published by `publishMarkers`? */
export function isMarker(data: unknown): boolean {
  return (
    typeof data === "object" &&
    data !== null &&
    typeof (data as { uid?: unknown }).uid === "string" &&
    (data as { uid: string }).uid.startsWith(MARKER)
  );
}

/**
 * Many clients, each subscribed to its topics and recording every delivery and gap in the
 * history. The first marker a member delivers on a topic marks it live there (the history
 * then holds it to every later acknowledged publish).
 */
export function startFleet(options: FleetOptions): Fleet {
  const { history } = options;
  const members: FleetMember[] = [];
  const checks = new Set<() => void>();
  const recheck = () => {
    for (const check of [...checks]) check();
  };
  let open = 0;

  for (let index = 0; index < options.count; index += 1) {
    const name = `${options.prefix}-${index}`;
    const topics = options.topicsOf(index);
    let member: FleetMember | undefined;
    const WebSocketImpl = tappedWebSocket((frame) => {
      if (!member || !frame.startsWith('{"type":"subscribed"')) return;
      member.subscribedOnConnection += 1;
      recheck();
    });
    const client = createClient({
      url: options.urlOf ? options.urlOf(index) : options.url,
      clientId: name,
      lifecycle: false,
      logLevel: "silent",
      WebSocket: WebSocketImpl,
      ...options.clientOptions,
    });
    member = { name, client, topics, subscribedOnConnection: 0, opens: 0 };
    const self = member;
    client.subscribeState((change) => {
      const wasOpen = change.prev === "open" || change.prev === "degraded";
      const isOpen = change.next === "open" || change.next === "degraded";
      if (!wasOpen && isOpen) {
        open += 1;
        self.opens += 1;
      }
      if (wasOpen && !isOpen) {
        open -= 1;
        self.subscribedOnConnection = 0;
      }
      if (change.next === "connecting") self.subscribedOnConnection = 0;
      recheck();
    });
    client.on("gap", (gap) => history.gap(name, gap));
    for (const topic of topics) {
      client.subscribe(topic, (data, meta) => {
        if (isMarker(data)) {
          history.subscribed(name, topic, { offset: meta.offset, epoch: meta.epoch });
        }
        history.deliver(name, topic, data, meta);
      });
    }
    members.push(member);
  }

  const fleet: Fleet = {
    members,
    get openCount() {
      return open;
    },
    whenAll(predicate, label, timeoutMs) {
      const done = deferred();
      const check = () => {
        if (members.every(predicate)) {
          checks.delete(check);
          done.resolve();
        }
      };
      checks.add(check);
      check();
      return within(done.promise, label, timeoutMs).finally(() => checks.delete(check));
    },
    whenAllLive(timeoutMs) {
      return fleet.whenAll(
        (m) =>
          (m.client.status === "open" || m.client.status === "degraded") &&
          m.subscribedOnConnection >= m.topics.length,
        "every client open and subscribed",
        timeoutMs,
      );
    },
    inState(state) {
      return members.filter((m) => m.client.status === state);
    },
    close() {
      for (const member of members) member.client.close();
    },
  };
  return fleet;
}

/**
 * Publishes one marker per topic through `publisher` and waits until every member
 * subscribed to the topic delivered it: from then on each member is provably live.
 */
export async function publishMarkers(
  fleet: Fleet,
  publisher: LifelineClient,
  history: History,
  label: string,
  timeoutMs: number,
): Promise<void> {
  const topics = [...new Set(fleet.members.flatMap((m) => m.topics))];
  const expected = fleet.members.reduce((n, m) => n + m.topics.length, 0);
  const uids = new Set<string>();
  const seen = countdown(expected);
  const stop = history.onDelivery((delivery) => {
    if (delivery.uid !== undefined && uids.has(delivery.uid)) seen.hit();
  });
  try {
    for (const topic of topics) {
      const record = history.publish(topic, `${MARKER}${label}`);
      uids.add(record.data.uid);
      const ack = await within(
        publisher.publish(topic, record.data),
        `marker on ${topic}`,
        timeoutMs,
      );
      record.acked(ack);
    }
    await within(seen.reached, `every subscriber to deliver marker ${label}`, timeoutMs);
  } finally {
    stop();
  }
}

/**
 * Each publisher publishes `count` messages to its topic one after the other (awaiting each
 * acknowledgement: a closed loop), recording each in the history. `onAck` sees every ack.
 */
export async function publishLoop(
  client: LifelineClient,
  publisher: string,
  topic: string,
  count: number,
  history: History,
  onAck?: () => void,
): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const record = history.publish(topic, publisher);
    try {
      record.acked(await client.publish(topic, record.data));
      onAck?.();
    } catch (error) {
      record.failed(error);
      throw error;
    }
  }
}
