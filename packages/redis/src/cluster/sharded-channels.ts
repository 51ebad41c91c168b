import type { Cluster } from "ioredis";
import { type ConnectionOptions, openConnection, type TrackedConnection } from "../connection.js";
import { RedisBrokerError, RedisBrokerErrorCode } from "../errors.js";
import type { LiveChannelEvents, LiveChannels } from "../live-channels.js";
import { keySlot } from "./slots.js";

/** One subscriber connection to one master, and the channels of its slots this node wants. */
interface Shard {
  readonly address: string;
  readonly connection: TrackedConnection;
  readonly channels: Set<string>;
  /** Resolves after the next SSUBSCRIBE of every channel (on the next ready). */
  synced: Promise<void>;
  settle: (error?: unknown) => void;
}

/**
 * Sharded pub/sub on a Redis Cluster (Redis 7: SSUBSCRIBE/SPUBLISH): a shard channel's
 * messages stay on the master serving its slot and that master's replicas, instead of
 * being broadcast over the cluster bus to every node as PUBLISH is. A topic's channel
 * shares its keys' hash tag (keys.ts), so the append script publishes on the slot it
 * writes to, and this node subscribes at that slot's master.
 *
 * One connection per master that serves a subscribed topic. When one drops (the master
 * failed), its channels are reported lost, so their feeds hold live entries until a fill
 * has checked what the promoted replica kept; every slot-table refresh of `cluster` moves
 * channels whose slot changed master to the new one and reports them restored.
 */
export function createShardedChannels(
  cluster: Cluster,
  options: ConnectionOptions,
  events: LiveChannelEvents,
): LiveChannels {
  const shards = new Map<string, Shard>();
  const placed = new Map<string, Shard>();
  /** Channels that may have missed messages since they were last subscribed. */
  const missed = new Set<string>();
  /** Each placed channel's hash slot: every slot-table refresh looks them all up. */
  const slotOf = new Map<string, number>();
  const masterOf = (channel: string): string | undefined => {
    let slot = slotOf.get(channel);
    if (slot === undefined) {
      slot = keySlot(channel);
      slotOf.set(channel, slot);
    }
    return cluster.slots[slot]?.[0];
  };
  let closed = false;

  function unavailable(channel: string, why: string): RedisBrokerError {
    return new RedisBrokerError(
      RedisBrokerErrorCode.Unavailable,
      `cannot subscribe to ${channel}: ${why}`,
    );
  }

  function markLost(channels: readonly string[]): void {
    const fresh = channels.filter((c) => !missed.has(c));
    for (const channel of fresh) missed.add(channel);
    if (fresh.length > 0) events.lost(fresh);
  }

  /** SSUBSCRIBE every channel of the shard, one command each: SSUBSCRIBE takes one slot. */
  async function subscribeAll(shard: Shard): Promise<void> {
    const channels = [...shard.channels];
    await Promise.all(channels.map((channel) => shard.connection.redis.ssubscribe(channel)));
    const back = channels.filter((c) => missed.delete(c));
    if (back.length > 0) events.restored(back);
  }

  function openShard(address: string): Shard {
    const [host, port] = [address.slice(0, address.lastIndexOf(":")), address.split(":").pop()];
    const connection = openConnection(
      { sentinel: { ...cluster.options.redisOptions, host, port: Number(port) } },
      { ...options, role: `subscriber ${address}` },
    );
    const shard: Shard = {
      address,
      connection,
      channels: new Set(),
      synced: Promise.resolve(),
      settle: () => {},
    };
    let settled = true;
    // A new cycle only once the last one settled: a place() waiting on it must be answered
    // by the next ready, however many failed attempts come before.
    const nextSync = () => {
      if (!settled) return;
      settled = false;
      shard.synced = new Promise<void>((resolve, reject) => {
        shard.settle = (error) => {
          settled = true;
          if (error === undefined) resolve();
          else reject(error);
        };
      });
      shard.synced.catch(() => {});
    };
    nextSync();
    connection.onReady(() => {
      const settle = shard.settle;
      subscribeAll(shard).then(
        () => settle(),
        (error: unknown) => {
          options.logger.warn({ err: error, address }, "redis broker: ssubscribe failed");
          settle(error);
          // Later placements wait for the next ready rather than this failure.
          nextSync();
        },
      );
    });
    connection.onStatusChange(() => {
      if (!connection.isReady()) {
        nextSync();
        markLost([...shard.channels]);
        // The slot table says whether a replica took over; refresh it now, not on the timer.
        cluster.refreshSlotsCache();
      }
      events.statusChange();
    });
    // ioredis reports a MOVED answer to SSUBSCRIBE this way (the slot table is stale).
    connection.redis.on("moved", () => cluster.refreshSlotsCache());
    connection.redis.on("smessage", (channel: string, payload: string) => {
      if (placed.get(channel) === shard) events.message(channel, payload);
    });
    shards.set(address, shard);
    return shard;
  }

  function release(shard: Shard, channel: string): void {
    shard.channels.delete(channel);
    if (placed.get(channel) === shard) {
      placed.delete(channel);
      slotOf.delete(channel);
    }
    if (shard.channels.size === 0) {
      shards.delete(shard.address);
      void shard.connection.close();
    } else if (shard.connection.isReady()) {
      shard.connection.redis.sunsubscribe(channel).catch((error: unknown) => {
        options.logger.debug({ err: error, channel }, "redis broker: sunsubscribe failed");
      });
    }
  }

  /** Puts `channel` on the shard of `address` and subscribes it there (now, or on its next ready). */
  async function place(channel: string, address: string): Promise<void> {
    const shard = shards.get(address) ?? openShard(address);
    shard.channels.add(channel);
    placed.set(channel, shard);
    if (!shard.connection.isReady()) {
      await bounded(shard.synced, options.commandTimeoutMs, () =>
        unavailable(channel, `${shard.connection.describe()}`),
      );
      return;
    }
    await shard.connection.redis.ssubscribe(channel);
  }

  /** After a slot-table refresh: channels whose slot has another master now move there. */
  function remap(): void {
    if (closed) return;
    for (const [channel, shard] of [...placed]) {
      const address = masterOf(channel);
      if (address === undefined || address === shard.address) continue;
      options.logger.info(
        { channel, from: shard.address, to: address },
        "redis broker: a channel's slot moved to another master",
      );
      markLost([channel]);
      release(shard, channel);
      place(channel, address).then(
        () => {
          if (missed.delete(channel)) events.restored([channel]);
        },
        (error: unknown) =>
          options.logger.warn({ err: error, channel }, "redis broker: ssubscribe failed"),
      );
    }
    events.statusChange();
  }
  cluster.on("refresh", remap);

  return {
    async add(channel) {
      const address = masterOf(channel);
      if (address === undefined) throw unavailable(channel, "no master known for its slot");
      try {
        await place(channel, address);
      } catch (error) {
        const shard = placed.get(channel);
        if (shard !== undefined) release(shard, channel);
        throw error;
      }
    },
    remove(channel) {
      missed.delete(channel);
      const shard = placed.get(channel);
      if (shard !== undefined) release(shard, channel);
    },
    // One master down (its fail-over under way) leaves the node serving every other topic:
    // reporting it would make every node unhealthy at once, and shed all their clients
    // (the server's brokerOutage) for an outage none of them can route around. Only a node
    // that reaches no master it needs is unhealthy.
    problems: () => {
      const down = [...shards.values()].filter((s) => !s.connection.isReady());
      return down.length > 0 && down.length === shards.size
        ? down.map((s) => s.connection.describe())
        : [];
    },
    ready: async () => {},
    async close() {
      closed = true;
      cluster.off("refresh", remap);
      const all = [...shards.values()];
      shards.clear();
      placed.clear();
      await Promise.all(all.map((s) => s.connection.close()));
    },
  };
}

/** `promise`, or the error `onTimeout` makes after `timeoutMs` (no limit when undefined). */
async function bounded<T>(
  promise: Promise<T>,
  timeoutMs: number | undefined,
  onTimeout: () => Error,
): Promise<T> {
  if (timeoutMs === undefined) return await promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
