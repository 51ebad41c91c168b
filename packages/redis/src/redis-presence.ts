import { randomBytes } from "node:crypto";
import type {
  BrokerPresence,
  PresenceChange,
  PresenceEntry,
  PresenceListener,
  PresenceWatch,
} from "@lifeline/protocol";
import type { Cluster, Redis } from "ioredis";
import type { TrackedConnection } from "./connection.js";
import { topicKeys } from "./keys.js";
import type { LiveChannels } from "./live-channels.js";
import type { Logger } from "./logger.js";
import { createNodeLiveness } from "./presence-nodes.js";
import { presenceScripts } from "./presence-scripts.js";

export interface RedisPresenceOptions {
  readonly command: TrackedConnection<Redis | Cluster>;
  /** The broker's pub/sub side: the diff channels are subscribed there. */
  readonly live: LiveChannels;
  /** PUBLISH, or SPUBLISH on a cluster (the diff channel shares the topic's slot). */
  readonly publishCommand: "PUBLISH" | "SPUBLISH";
  readonly keyPrefix: string;
  readonly nodeTimeoutMs: number;
  readonly logger: Logger;
  /** The error for an operation tried while Redis is unreachable or the broker closed. */
  readonly unavailable: (action: string) => Error;
}

export interface RedisPresence extends BrokerPresence {
  /**
   * A message the broker's live channels received: handled (true) if it was on a diff
   * channel, whatever it held.
   */
  onMessage(channel: string, payload: string): boolean;
  /**
   * These channels are subscribed again after a drop: diffs published meanwhile are lost,
   * so the topics watched on them are read again.
   */
  restored(channels: readonly string[]): void;
  close(): void;
}

/** One topic's members as this node sees them while it watches them. */
interface Feed {
  readonly topic: string;
  readonly channel: string;
  members: Map<string, PresenceEntry>;
  readonly listeners: Set<PresenceListener>;
  /** Diffs that arrived while a snapshot was being read; applied after it. */
  buffer: Diff[] | undefined;
  started: Promise<void>;
}

interface Diff {
  readonly v: number;
  readonly j: PresenceEntry[];
  readonly l: PresenceEntry[];
}

/**
 * Presence on Redis (see presence-scripts.ts for the keys, presence-nodes.ts for node
 * death): shared by every node with the same key prefix. This node remembers what it
 * holds, so after Redis comes back (or a survivor reaped it while it was cut off) it holds
 * it again, and lets go of what it could not release while Redis was away.
 */
export function createRedisPresence(options: RedisPresenceOptions): RedisPresence {
  const { command, live, logger, keyPrefix, publishCommand } = options;
  const node = randomBytes(8).toString("hex");
  const held = new Map<string, Map<string, PresenceEntry>>();
  const unreleased = new Map<string, Set<string>>();
  const feeds = new Map<string, Feed>();
  const feedsByChannel = new Map<string, Feed>();
  let closed = false;

  const keysOf = (topic: string) => topicKeys(keyPrefix, topic);

  const liveness = createNodeLiveness({
    command,
    keyPrefix,
    node,
    nodeTimeoutMs: options.nodeTimeoutMs,
    logger,
    reapTopic: async (dead, topic) => {
      const keys = keysOf(topic);
      await presenceScripts.reap.run(command.redis, keys.presence, [
        dead,
        keys.presenceChannel,
        publishCommand,
      ]);
    },
    onHeartbeatLost: () => reassert(),
  });

  function runHold(topic: string, entry: PresenceEntry): Promise<unknown> {
    const keys = keysOf(topic);
    const json = JSON.stringify(entry);
    return Promise.all([
      liveness.noteTopic(topic),
      presenceScripts.hold.run(command.redis, keys.presence, [
        node,
        entry.clientId,
        json,
        keys.presenceChannel,
        publishCommand,
      ]),
    ]);
  }

  function runRelease(topic: string, clientId: string): Promise<unknown> {
    const keys = keysOf(topic);
    const released = presenceScripts.release.run(command.redis, keys.presence, [
      node,
      clientId,
      keys.presenceChannel,
      publishCommand,
    ]);
    // Queued after the release on the same connection, so a later hold's SADD comes after.
    const forgotten =
      held.has(topic) || unreleased.has(topic) ? undefined : liveness.forgetTopic(topic);
    return Promise.all([released, forgotten]);
  }

  /** Holds again everything held, and releases what could not be released before. */
  function reassert(): void {
    if (closed || !command.isReady()) return;
    for (const [topic, members] of held) {
      for (const entry of members.values()) {
        runHold(topic, entry).catch((error: unknown) => warn("hold again", topic, error));
      }
    }
    for (const [topic, clients] of unreleased) {
      unreleased.delete(topic);
      for (const clientId of clients) {
        runRelease(topic, clientId).catch((error: unknown) => {
          remember(unreleased, topic, clientId);
          warn("release", topic, error);
        });
      }
    }
  }

  function warn(action: string, topic: string, error: unknown): void {
    logger.warn({ err: error, topic }, `redis presence: ${action} failed`);
  }

  command.onReady(() => reassert());

  // --- watching ---

  function onMessage(channel: string, payload: string): boolean {
    const feed = feedsByChannel.get(channel);
    if (feed === undefined) return false;
    const diff = parseDiff(payload);
    if (diff === undefined) {
      logger.warn({ topic: feed.topic }, "redis presence: ignored a malformed diff");
    } else if (feed.buffer) feed.buffer.push(diff);
    else emit(feed, applyDiff(feed, diff));
    return true;
  }

  function restored(channels: readonly string[]): void {
    // Diffs published while the channel was not subscribed are lost: read each topic again
    // and report the difference as one change.
    for (const channel of channels) {
      const feed = feedsByChannel.get(channel);
      if (feed === undefined) continue;
      feed.buffer ??= [];
      feed.started = load(feed, true);
      feed.started.catch((error: unknown) => warn("resynchronise", feed.topic, error));
    }
  }

  /** The topic's members (as stored) with the number of the latest change they include. */
  async function snapshot(topic: string): Promise<[number, string[]]> {
    const [members, , , seq] = keysOf(topic).presence;
    return (await presenceScripts.snapshot.run(command.redis, [members, seq], [])) as [
      number,
      string[],
    ];
  }

  /** Reads the members; the feed's channel is subscribed first, so no diff falls between. */
  async function load(feed: Feed, report: boolean): Promise<void> {
    const [seq, values] = await snapshot(feed.topic);
    const next = new Map<string, PresenceEntry>();
    for (const value of values) {
      const entry = parseEntry(value);
      if (entry) next.set(entry.clientId, entry);
    }
    const before = feed.members;
    feed.members = next;
    const buffered = feed.buffer ?? [];
    feed.buffer = undefined;
    const change = report ? difference(feed.topic, before, next) : undefined;
    if (change) emit(feed, change);
    for (const diff of buffered) if (diff.v > seq) emit(feed, applyDiff(feed, diff));
  }

  function emit(feed: Feed, change: PresenceChange): void {
    for (const listener of [...feed.listeners]) {
      try {
        listener(change);
      } catch (error) {
        logger.error({ err: error, topic: feed.topic }, "redis presence: a listener threw");
      }
    }
  }

  function dropFeed(feed: Feed): void {
    if (feeds.get(feed.topic) !== feed) return;
    feeds.delete(feed.topic);
    feedsByChannel.delete(feed.channel);
    live.remove(feed.channel);
  }

  function startFeed(topic: string): Feed {
    const channel = keysOf(topic).presenceChannel;
    const feed: Feed = {
      topic,
      channel,
      members: new Map(),
      listeners: new Set(),
      buffer: [],
      started: Promise.resolve(),
    };
    feeds.set(topic, feed);
    feedsByChannel.set(channel, feed);
    feed.started = live.add(channel).then(() => load(feed, false));
    return feed;
  }

  return {
    onMessage,
    restored,

    async hold(topic, entry) {
      if (closed) throw options.unavailable(`hold presence on "${topic}"`);
      liveness.start();
      unreleased.get(topic)?.delete(entry.clientId);
      let members = held.get(topic);
      if (!members) {
        members = new Map();
        held.set(topic, members);
      }
      members.set(entry.clientId, entry);
      // Kept when Redis is away: held again once it is back.
      if (!command.isReady()) throw options.unavailable(`hold presence on "${topic}"`);
      await runHold(topic, entry);
    },

    async release(topic, clientId) {
      const members = held.get(topic);
      if (!members?.delete(clientId)) return;
      if (members.size === 0) held.delete(topic);
      if (closed) return;
      try {
        if (!command.isReady()) throw options.unavailable(`release presence on "${topic}"`);
        await runRelease(topic, clientId);
      } catch (error) {
        remember(unreleased, topic, clientId);
        throw error;
      }
    },

    async members(topic) {
      if (closed || !command.isReady()) throw options.unavailable(`read presence of "${topic}"`);
      liveness.start();
      const [, values] = await snapshot(topic);
      return values.flatMap((value) => parseEntry(value) ?? []);
    },

    async watch(topic, listener): Promise<PresenceWatch> {
      if (closed || !command.isReady() || live.problems().length > 0) {
        throw options.unavailable(`watch presence of "${topic}"`);
      }
      liveness.start();
      const feed = feeds.get(topic) ?? startFeed(topic);
      try {
        await feed.started;
      } catch (error) {
        if (feed.listeners.size === 0) dropFeed(feed);
        throw error;
      }
      const own: PresenceListener = (change) => listener(change);
      feed.listeners.add(own);
      return {
        members: [...feed.members.values()],
        async stop() {
          if (!feed.listeners.delete(own)) return;
          if (feed.listeners.size === 0) dropFeed(feed);
        },
      };
    },

    close() {
      // Nothing is released: survivors reap this node once its heartbeat expires, so its
      // clients that reconnect elsewhere within the bound never leave.
      closed = true;
      liveness.stop();
      feeds.clear();
      feedsByChannel.clear();
    },
  };
}

function remember(map: Map<string, Set<string>>, topic: string, clientId: string): void {
  let set = map.get(topic);
  if (!set) {
    set = new Set();
    map.set(topic, set);
  }
  set.add(clientId);
}

function applyDiff(feed: Feed, diff: Diff): PresenceChange {
  for (const entry of diff.l) feed.members.delete(entry.clientId);
  for (const entry of diff.j) feed.members.set(entry.clientId, entry);
  return { topic: feed.topic, joins: diff.j, leaves: diff.l };
}

function difference(
  topic: string,
  before: ReadonlyMap<string, PresenceEntry>,
  after: ReadonlyMap<string, PresenceEntry>,
): PresenceChange | undefined {
  const joins = [...after.values()].filter((entry) => !before.has(entry.clientId));
  const leaves = [...before.values()].filter((entry) => !after.has(entry.clientId));
  return joins.length + leaves.length === 0 ? undefined : { topic, joins, leaves };
}

function parseEntry(value: unknown): PresenceEntry | undefined {
  const entry = typeof value === "string" ? safeParse(value) : value;
  if (typeof entry !== "object" || entry === null) return undefined;
  const { clientId, user, joinedAt } = entry as Record<string, unknown>;
  if (typeof clientId !== "string" || typeof joinedAt !== "number") return undefined;
  return typeof user === "string" ? { clientId, user, joinedAt } : { clientId, joinedAt };
}

function parseDiff(payload: string): Diff | undefined {
  const raw = safeParse(payload) as { v?: unknown; j?: unknown; l?: unknown } | undefined;
  if (typeof raw?.v !== "number" || !Array.isArray(raw.j) || !Array.isArray(raw.l)) {
    return undefined;
  }
  const j = raw.j.map(parseEntry);
  const l = raw.l.map(parseEntry);
  if (j.includes(undefined) || l.includes(undefined)) return undefined;
  return { v: raw.v, j: j as PresenceEntry[], l: l as PresenceEntry[] };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
