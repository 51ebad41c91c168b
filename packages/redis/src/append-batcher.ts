/**
 * Groups the appends of one topic into batches: while a topic's batches are in flight (at
 * most `maxInFlight`), its next appends wait and then go out together in one script call.
 * A lone append is sent at once (no timer, no added latency); under load a batch carries
 * every append that arrived during the previous round trip, which is where the throughput
 * comes from: one round trip and one script run for many appends instead of one each.
 *
 * Order: batches leave in the order their appends were made, on one connection, which
 * Redis answers in order, and a batch appends its entries in call order, so a topic's
 * appends land in call order (PROTOCOL.md, "Publish order"). Every append is settled on
 * its own: resolved with its result, or rejected with the error of its batch.
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
 * throws, every item of the batch is rejected with that error. `send` must put its command
 * on the connection before its first await, so batches reach Redis in the order they were
 * sent; up to `maxInFlight` batches of a topic are in flight at once, so a lone append
 * does not wait for a whole round trip of the batch before it.
 */
export function createAppendBatcher<Item, Result>(
  send: (topic: string, items: readonly Item[]) => Promise<readonly Result[]>,
  maxBatch: number,
  maxInFlight: number,
): AppendBatcher<Item, Result> {
  const queues = new Map<string, BatchItem<Item, Result>[]>();
  const inFlight = new Map<string, number>();

  function settle(batch: readonly BatchItem<Item, Result>[], results: readonly Result[]): void {
    batch.forEach((b, i) => {
      const result = results[i];
      if (result === undefined) b.reject(new Error(`no result for item ${i} of a batch`));
      else b.resolve(result);
    });
  }

  function pump(topic: string): void {
    const queue = queues.get(topic) ?? [];
    let running = inFlight.get(topic) ?? 0;
    // Bounded: each pass takes up to maxBatch items off the queue.
    while (queue.length > 0 && running < maxInFlight) {
      const batch = queue.splice(0, maxBatch);
      running++;
      // The next batch leaves before this one's appends are answered.
      const next = () => {
        const left = (inFlight.get(topic) ?? 1) - 1;
        if (left === 0) inFlight.delete(topic);
        else inFlight.set(topic, left);
        pump(topic);
      };
      send(
        topic,
        batch.map((b) => b.item),
      ).then(
        (results) => {
          next();
          settle(batch, results);
        },
        (error: unknown) => {
          next();
          for (const b of batch) b.reject(error);
        },
      );
    }
    if (running > 0) inFlight.set(topic, running);
    if (queue.length === 0) queues.delete(topic);
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
        pump(topic);
      });
    },
  };
}
