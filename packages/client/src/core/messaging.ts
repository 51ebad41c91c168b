import type { ContractSpec } from "@lifeline/protocol";
import type { ClientEvents } from "../api.js";
import { createOutbox, type Outbox, type OutboxEntry } from "../delivery/outbox.js";
import { createPresenceTracker, type PresenceTracker } from "../delivery/presence.js";
import {
  createPublishTracker,
  defaultPublishRetry,
  type PublishTracker,
} from "../delivery/publish.js";
import { createRequestTracker, type RequestTracker } from "../delivery/requests.js";
import type { Sender } from "../delivery/sender.js";
import {
  createSubscriptionRegistry,
  type SubscriptionEvents,
  type SubscriptionRegistry,
} from "../delivery/subscriptions.js";
import { ClientErrorCode } from "../errors.js";
import { type ClientOptions, defaults } from "../options.js";
import type { PositionKeeper } from "../positions/keeper.js";
import type { StatsRecorder } from "../state/stats.js";
import type { Emitter } from "../util/emitter.js";
import { randomId } from "../util/random-id.js";
import type { ConnectionLink } from "./link.js";
import type { ClientSettings } from "./settings.js";

/** Everything that sends application messages and waits for their answers. */
export interface Messaging {
  readonly outbox: Outbox;
  readonly sender: Sender;
  readonly requests: RequestTracker;
  readonly publishes: PublishTracker;
  readonly presence: PresenceTracker;
  readonly subscriptions: SubscriptionRegistry;
  /** Sends a queued entry on the open connection and marks it sent; false when closed. */
  readonly sendEntry: (entry: OutboxEntry) => boolean;
}

export interface MessagingDeps {
  readonly options: ClientOptions<ContractSpec>;
  readonly settings: ClientSettings;
  readonly link: ConnectionLink;
  readonly stats: StatsRecorder;
  readonly events: Emitter<ClientEvents>;
  readonly positions: PositionKeeper | undefined;
  /** Connects a lazy (or given-up, non-fatally failed) client on first use. */
  readonly ensureStarted: () => void;
}

/** Builds the outbox, the sender over the link, and the parts that use it. */
export function createMessaging(deps: MessagingDeps): Messaging {
  const { options, settings, link, stats } = deps;
  const outbox = createOutbox(options.queue?.max ?? defaults.queueMax);
  const sendEntry = (entry: OutboxEntry): boolean => {
    let sent: boolean;
    try {
      sent = link.sendCounted(entry.kind, entry.message);
    } catch (error) {
      // The connection's codec cannot carry it (binary data on a JSON connection): the
      // operation fails and the queue moves on (transport/codec.ts).
      const message = error instanceof Error ? error.message : String(error);
      const refusal = {
        ok: false as const,
        error: { code: ClientErrorCode.InvalidMessage, message },
      };
      if (entry.kind === "request") requests.settle(entry.id, refusal);
      else publishes.settle(entry.id, refusal);
      return true;
    }
    if (!sent) return false;
    if (entry.kind === "request") requests.markSent(entry.id);
    else publishes.markSent(entry.id);
    return true;
  };
  const sender = createSender(link, outbox, sendEntry, deps.ensureStarted);
  const requests = createRequestTracker({
    clock: settings.clock,
    sender,
    contract: options.contract,
    defaultTimeoutMs: options.requestTimeoutMs ?? defaults.requestTimeoutMs,
  });
  const publishes = createPublishTracker({
    clock: settings.clock,
    sender,
    contract: options.contract,
    maxWaiting: outbox.max,
    retry: options.publishRetry ?? defaultPublishRetry,
    random: settings.random,
  });
  const presence = createPresenceTracker({
    sender,
    onError(error) {
      settings.log.warn("presence error", { code: error.code, message: error.message });
      deps.events.emit("error", error);
    },
  });
  const subscriptions = createSubscriptionRegistry({
    sender,
    clock: settings.clock,
    contract: options.contract,
    wantsPresence: (topic) => presence.wants(topic),
    validateIncoming: options.validateIncoming ?? defaults.validateIncoming,
    serverFeatures: () => stats.serverFeatures,
    positions: deps.positions,
    events: subscriptionEvents(deps, presence),
  });
  return { outbox, sender, requests, publishes, presence, subscriptions, sendEntry };
}

/** Sends at once while open and nothing waits, else queues (and starts a lazy client). */
function createSender(
  link: ConnectionLink,
  outbox: Outbox,
  sendEntry: (entry: OutboxEntry) => boolean,
  ensureStarted: () => void,
): Sender {
  const sessionPrefix = randomId(6);
  let idCounter = 0;
  return {
    deliver(entry) {
      if (link.active && outbox.size === 0 && sendEntry(entry)) return "sent";
      if (!outbox.push(entry)) return "full";
      ensureStarted();
      return "queued";
    },
    sendIfOpen: (type, message) => link.sendCounted(type, message),
    withdraw(id) {
      outbox.remove(id);
    },
    nextId(prefix) {
      idCounter += 1;
      return `${prefix}${sessionPrefix}.${idCounter}`;
    },
  };
}

/** What the subscriptions report: counted in the stats, logged, and emitted as events. */
function subscriptionEvents(deps: MessagingDeps, presence: PresenceTracker): SubscriptionEvents {
  const { stats, events } = deps;
  const log = deps.settings.log;
  return {
    onGap(gap) {
      stats.gaps += 1;
      log.warn("subscription resumed with a gap", { ...gap });
      events.emit("gap", gap);
    },
    onError(error) {
      log.warn("subscription error", { code: error.code, message: error.message });
      events.emit("error", error);
    },
    onDelivered(message) {
      if (events.count("message") > 0) {
        events.emit("message", {
          topic: message.topic,
          data: message.data,
          offset: message.offset,
          epoch: message.epoch,
          ts: message.ts,
        });
      }
    },
    onDuplicate() {
      stats.duplicatesDropped += 1;
    },
    onSubscribed(topic) {
      presence.subscribed(topic);
    },
  };
}
