import type {
  ClientMessage,
  ErrorBody,
  PresenceDiffMessage,
  PresenceMember as WireMember,
} from "@lifeline/protocol";
import { ClientErrorCode, LifelineError } from "../errors.js";
import type { RequestOptions, RequestTracker } from "./requests.js";
import type { Sender } from "./sender.js";

/** One member of a topic's presence: a client subscribed to it (PROTOCOL.md, "Presence"). */
export interface PresenceMember {
  /** The member's client id: one member however many connections it has. */
  readonly clientId: string;
  /** The identity the server's authentication gave it; absent without authentication. */
  readonly user?: string;
  /** Milliseconds since the Unix epoch when it joined; a reconnect in the grace period keeps it. */
  readonly joinedAt: number;
}

/** What `presence()` answers: the topic's members now. */
export interface PresenceResult {
  /** The topic asked about. */
  readonly topic: string;
  /** How many members there are; more than `members.length` when the server cut the list. */
  readonly count: number;
  /** The members listed, at most the server's member limit of them. */
  readonly members: readonly PresenceMember[];
}

/** Given to `onPresence`: the members after a change, and the change. */
export interface PresenceEvent {
  /** The topic whose presence changed. */
  readonly topic: string;
  /** Every member now, in the order they became known. */
  readonly members: readonly PresenceMember[];
  /** Members that joined since the last event. */
  readonly joins: readonly PresenceMember[];
  /** Members that left since the last event. */
  readonly leaves: readonly PresenceMember[];
}

/** Called by `onPresence` with the members after each change. */
export type PresenceListener = (event: PresenceEvent) => void;

/** Asks for a topic's members once, sent like a request (outbox, timeout, abort). */
export function queryPresence(
  requests: RequestTracker,
  topic: string,
  options: RequestOptions | undefined,
): Promise<PresenceResult> {
  const label = `presence of "${topic}"`;
  const message = (id: string): ClientMessage => ({ type: "presence", id, topic });
  return requests.call(label, message, options).then((result) => toResult(label, result));
}

interface TopicPresence {
  readonly topic: string;
  readonly listeners: Set<PresenceListener>;
  members: Map<string, PresenceMember>;
  /** The `presence` asked after the latest `subscribed`, until its answer. */
  syncId: string | undefined;
  /** Whether members came from a snapshot yet: the first one is reported even if empty. */
  synced: boolean;
}

export interface PresenceTracker {
  /** Adds a listener of `topic`'s members; returns its removal. */
  add(topic: string, listener: PresenceListener): () => void;
  /** Whether `subscribe` of `topic` should ask for diffs. */
  wants(topic: string): boolean;
  /** `topic`'s subscription is live on this connection: read its members again. */
  subscribed(topic: string): void;
  handleDiff(message: PresenceDiffMessage): void;
  /** The answer to a snapshot this tracker asked for; false when the id is not one. */
  settle(
    id: string,
    outcome: { ok: true; result: unknown } | { ok: false; error: ErrorBody },
  ): boolean;
  /** The connection dropped: the members are kept, answers to its snapshots never come. */
  connectionLost(): void;
  /** The members the tracker keeps for `topic`, if any listener watches it. */
  members(topic: string): readonly PresenceMember[] | undefined;
}

interface PresenceTrackerOptions {
  readonly sender: Sender;
  readonly onError: (error: LifelineError) => void;
}

export function createPresenceTracker(options: PresenceTrackerOptions): PresenceTracker {
  return new Presence(options);
}

/**
 * Presence kept current for `subscribe(..., { presence: true })` (PROTOCOL.md, "Presence"):
 * after every `subscribed` it reads the members, drops the diffs that arrived before that
 * answer (the answer includes them) and applies the ones after. The members survive a
 * reconnect: the new snapshot is compared with them, so only real joins and leaves are
 * reported, and a client that came back within the server's grace period never left.
 */
class Presence implements PresenceTracker {
  readonly #topics = new Map<string, TopicPresence>();
  readonly #bySyncId = new Map<string, TopicPresence>();

  readonly #options: PresenceTrackerOptions;

  constructor(options: PresenceTrackerOptions) {
    this.#options = options;
  }

  add(topic: string, listener: PresenceListener): () => void {
    const topics = this.#topics;
    const bySyncId = this.#bySyncId;
    let state = topics.get(topic);
    if (!state) {
      state = { topic, listeners: new Set(), members: new Map(), syncId: undefined, synced: false };
      topics.set(topic, state);
    }
    const owner = state;
    owner.listeners.add(listener);
    return () => {
      owner.listeners.delete(listener);
      if (owner.listeners.size > 0 || topics.get(topic) !== owner) return;
      topics.delete(topic);
      if (owner.syncId) bySyncId.delete(owner.syncId);
    };
  }

  wants(topic: string): boolean {
    return this.#topics.has(topic);
  }

  subscribed(topic: string): void {
    const state = this.#topics.get(topic);
    if (!state) return;
    if (state.syncId) this.#bySyncId.delete(state.syncId);
    const { sender } = this.#options;
    const id = sender.nextId("p");
    state.syncId = undefined;
    if (!sender.sendIfOpen("presence", { type: "presence", id, topic })) {
      return;
    }
    state.syncId = id;
    this.#bySyncId.set(id, state);
  }

  handleDiff(message: PresenceDiffMessage): void {
    const state = this.#topics.get(message.topic);
    // Before the snapshot's answer, a diff is already part of it.
    if (!state || state.syncId !== undefined || !state.synced) return;
    const joins: PresenceMember[] = [];
    const leaves: PresenceMember[] = [];
    for (const wire of message.leaves) {
      const member = state.members.get(wire.client_id);
      if (member && state.members.delete(wire.client_id)) leaves.push(member);
    }
    for (const wire of message.joins) {
      const member = fromWire(wire);
      if (!state.members.has(member.clientId)) joins.push(member);
      state.members.set(member.clientId, member);
    }
    if (joins.length > 0 || leaves.length > 0) this.#emit(message.topic, state, joins, leaves);
  }

  settle(
    id: string,
    outcome: { ok: true; result: unknown } | { ok: false; error: ErrorBody },
  ): boolean {
    const state = this.#bySyncId.get(id);
    if (!state) return false;
    this.#bySyncId.delete(id);
    state.syncId = undefined;
    const { topic } = state;
    if (this.#topics.get(topic) !== state) return true;
    if (!outcome.ok) {
      this.#options.onError(
        new LifelineError(
          outcome.error.code,
          `presence of "${topic}" refused: ${outcome.error.message}`,
        ),
      );
      return true;
    }
    try {
      this.#applySnapshot(topic, state, toResult(`presence of "${topic}"`, outcome.result));
    } catch (error) {
      this.#options.onError(error as LifelineError);
    }
    return true;
  }

  connectionLost(): void {
    this.#bySyncId.clear();
    for (const state of this.#topics.values()) state.syncId = undefined;
  }

  members(topic: string): readonly PresenceMember[] | undefined {
    const state = this.#topics.get(topic);
    return state ? [...state.members.values()] : undefined;
  }

  #emit(
    topic: string,
    state: TopicPresence,
    joins: PresenceMember[],
    leaves: PresenceMember[],
  ): void {
    const event: PresenceEvent = { topic, members: [...state.members.values()], joins, leaves };
    for (const listener of [...state.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#options.onError(
          new LifelineError("handler_failed", `a presence listener of "${topic}" threw`, {
            cause: error,
          }),
        );
      }
    }
  }

  #applySnapshot(topic: string, state: TopicPresence, result: PresenceResult): void {
    const next = new Map(result.members.map((member) => [member.clientId, member]));
    const joins = [...next.values()].filter((m) => !state.members.has(m.clientId));
    const leaves = [...state.members.values()].filter((m) => !next.has(m.clientId));
    state.members = next;
    const first = !state.synced;
    state.synced = true;
    if (first || joins.length > 0 || leaves.length > 0) this.#emit(topic, state, joins, leaves);
  }
}

function fromWire(member: WireMember): PresenceMember {
  return member.user === undefined
    ? { clientId: member.client_id, joinedAt: member.joined_at }
    : { clientId: member.client_id, user: member.user, joinedAt: member.joined_at };
}

function toResult(label: string, result: unknown): PresenceResult {
  const state = result as { topic?: unknown; count?: unknown; members?: unknown } | null;
  if (
    typeof state !== "object" ||
    state === null ||
    typeof state.topic !== "string" ||
    typeof state.count !== "number" ||
    !Array.isArray(state.members)
  ) {
    throw new LifelineError(
      ClientErrorCode.InvalidMessage,
      `${label}: expected {topic, count, members}, got ${JSON.stringify(result)?.slice(0, 200)}`,
    );
  }
  return {
    topic: state.topic,
    count: state.count,
    members: (state.members as WireMember[]).map(fromWire),
  };
}
