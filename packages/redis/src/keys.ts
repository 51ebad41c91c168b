/**
 * Every key of one topic shares the hash tag `{<topic>}` so the scripts that touch several
 * of them stay on one slot should the deployment be a Redis Cluster.
 */
export interface TopicKeys {
  /** Hash `{epoch, seq}`: the topic's epoch and its latest offset. */
  readonly meta: string;
  /** Stream of retained entries, id `<offset>-0`, fields `ts` and `d` (JSON data). */
  readonly stream: string;
  /**
   * Hash of a conflated topic's latest entry per key (PROTOCOL.md, "Conflation"): field the
   * key, value `<offset>\n<epoch>\n<ts>\n<data>` like a live entry.
   */
  readonly latest: string;
  /** Sorted set of the same keys scored by their latest offset: bounds and pages the hash. */
  readonly latestOrder: string;
  /** Pub/sub channel every append is published on. */
  readonly channel: string;
  /** String holding the result of the append made with `dedupeKey`. */
  dedupe(dedupeKey: string): string;
  /** The topic's presence (see presence-scripts.ts), in script order. */
  readonly presence: readonly [members: string, holders: string, refs: string, seq: string];
  /** Pub/sub channel of the topic's presence diffs. */
  readonly presenceChannel: string;
}

export function topicKeys(prefix: string, topic: string): TopicKeys {
  const base = `${prefix}{${topic}}`;
  return {
    meta: `${base}:meta`,
    stream: `${base}:log`,
    latest: `${base}:latest`,
    latestOrder: `${base}:latest-order`,
    channel: `${base}:live`,
    dedupe: (dedupeKey) => `${base}:dedupe:${dedupeKey}`,
    presence: [
      `${base}:presence`,
      `${base}:presence:holders`,
      `${base}:presence:refs`,
      `${base}:presence:seq`,
    ],
    presenceChannel: `${base}:presence:live`,
  };
}

/**
 * Keys of one node's presence: its heartbeat, and the topics it holds members of. Every
 * node's keys share the hash tag `{presence}`, so the MULTIs and pipelines that touch the
 * registry and several nodes' keys at once (presence-nodes.ts) stay on one slot in a Redis
 * Cluster.
 */
export function presenceNodeKeys(prefix: string, node: string) {
  const base = `${prefix}{presence}`;
  return {
    /** Every node that holds or held presence, until a survivor reaps it. */
    nodes: `${base}:nodes`,
    /** Expires when the node stops refreshing it: the node is dead. */
    heartbeat: `${base}:node:${node}`,
    /** Set of the topics the node holds members of. */
    topics: `${base}:node:${node}:topics`,
  };
}

/** The key of a lease named `name`. */
export function leaseKey(prefix: string, name: string): string {
  return `${prefix}lease:${name}`;
}

/**
 * Keys of the session directory (see session-scripts.ts). A user's two keys share the hash
 * tag `{<user>}`, so its scripts stay on one slot in a Redis Cluster.
 */
export function sessionKeys(prefix: string) {
  return {
    user: (user: string) => ({
      set: `${prefix}sessions:{${user}}:live`,
      info: `${prefix}sessions:{${user}}:info`,
    }),
    /** String: the user and connection that last held a client_id. */
    client: (clientId: string) => `${prefix}clients:{${clientId}}:holder`,
  };
}

/** The pub/sub channel control commands travel on (PROTOCOL.md, "Session control"). */
export function controlChannel(prefix: string): string {
  return `${prefix}control`;
}
