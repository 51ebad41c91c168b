/**
 * Groups the appends of one topic into batches: while a topic's batch is in flight, its
 * next appends wait and then go out together in one script call. A lone append is sent at
 * once (no timer, no added latency); under load a batch carries every append that arrived
 * during the previous round trip, which is where the throughput comes from: one round trip
 * and one script run for many appends instead of one each.
 *
 * Order: a topic has at most one batch in flight, and a batch appends its entries in the
 * order `append` was called, so a topic's appends land in call order (PROTOCOL.md, "Publish
 * order"). Every append is settled on its own: resolved with its result, or rejected with
 * the error of its batch.
 */

export interface BatchItem<Item, Result> {
  readonly item: Item;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

export interface AppendBatcher<Item, Result> {
  /** Queues `item` for `topic`; settles once the batch carrying it does. */
  add(topic: string, item: Item): Promise<Result>;
}

/**
 * `send` runs one batch of one topic and returns one result per item, in order; when it
 * throws, every item of the batch is rejected with that error.
 */
export function createAppendBatcher<Item, Result>(
  send: (topic: string, items: readonly Item[]) => Promise<readonly Result[]>,
  maxBatch: number,
): AppendBatcher<Item, Result> {
  const queues = new Map<string, BatchItem<Item, Result>[]>();
  const busy = new Set<string>();

  async function drain(topic: string): Promise<void> {
    busy.add(topic);
    try {
      // Bounded by the queue: each pass takes up to maxBatch items off it.
      for (let queue = queues.get(topic); queue !== undefined && queue.length > 0; ) {
        const batch = queue.splice(0, maxBatch);
        try {
          const results = await send(
            topic,
            batch.map((b) => b.item),
          );
          batch.forEach((b, i) => {
            const result = results[i];
            if (result === undefined) b.reject(new Error(`no result for item ${i} of a batch`));
            else b.resolve(result);
          });
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
        queue = queues.get(topic);
      }
    } finally {
      queues.delete(topic);
      busy.delete(topic);
    }
  }

  return {
    add(topic, item) {
      return new Promise<Result>((resolve, reject) => {
        let queue = queues.get(topic);
        if (queue === undefined) {
          queue = [];
          queues.set(topic, queue);
        }
        queue.push({ item, resolve, reject });
        if (!busy.has(topic)) void drain(topic);
      });
    },
  };
}
