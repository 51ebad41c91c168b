/**
 * A retryable refusal of a publish: the client is expected to send the same publish (same
 * id) again, and nothing it sent to that topic after it may be appended first.
 */
export interface RetryableRefusal {
  readonly code: string;
}

/** Handles one publish; resolves with the retryable refusal it was answered with, if any. */
export type PublishStep = () => Promise<RetryableRefusal | undefined>;

/** Answers a publish refused because an earlier one of the same lane waits to be resent. */
export type RefuseBehind = (barrier: RetryableRefusal) => void;

interface Lane {
  tail: Promise<void>;
  /** Publishes queued or running in this lane. */
  queued: number;
  /** The refused publish every later one waits behind, until it is sent again. */
  barrier: (RetryableRefusal & { readonly id: string }) | undefined;
}

/**
 * Most lanes one connection keeps blocked behind a refused publish that was never sent
 * again. Only a client that ignores PROTOCOL.md ("Publish order") leaves lanes blocked:
 * past this many the oldest is forgotten, so such a client cannot grow the server's memory.
 */
export const MAX_BLOCKED_LANES = 1024;

/**
 * Keeps one connection's publishes to each topic in the order they arrived (PROTOCOL.md,
 * "Publish order"). Publishes to one topic run one after another, so the broker appends
 * them in that order; once one is refused with a retryable code (`overloaded`,
 * `rate_limited`), every later publish to that topic is refused with the same code and not
 * appended, until the refused one arrives again. Without this, a client resending the
 * refused publish after a backoff delay would see it appended after the ones it had sent
 * behind it. Publishes to different topics do not wait for each other.
 */
export class PublishLanes {
  private readonly lanes = new Map<string, Lane>();
  private blocked = 0;

  /** Number of lanes holding a queue or a barrier (for tests and stats). */
  get size(): number {
    return this.lanes.size;
  }

  /**
   * Runs `step` for publish `id` to `topic` after every earlier publish to that topic, or
   * answers it with `refuseBehind` when an earlier refused one has not come back yet.
   */
  submit(topic: string, id: string, step: PublishStep, refuseBehind: RefuseBehind): void {
    let lane = this.lanes.get(topic);
    if (!lane) {
      lane = { tail: Promise.resolve(), queued: 0, barrier: undefined };
      this.lanes.set(topic, lane);
    }
    const current = lane;
    current.queued += 1;
    current.tail = current.tail
      .then(() => this.run(current, id, step, refuseBehind))
      // A failed step must not stop the lane: its publish was answered by the caller.
      .catch(() => {})
      .finally(() => {
        current.queued -= 1;
        if (current.queued === 0 && !current.barrier) this.lanes.delete(topic);
      });
  }

  private async run(
    lane: Lane,
    id: string,
    step: PublishStep,
    refuseBehind: RefuseBehind,
  ): Promise<void> {
    const barrier = lane.barrier;
    if (barrier && barrier.id !== id) {
      refuseBehind(barrier);
      return;
    }
    if (barrier) this.lift(lane);
    const refusal = await step();
    if (refusal) this.block(lane, id, refusal);
  }

  private block(lane: Lane, id: string, refusal: RetryableRefusal): void {
    if (!lane.barrier) this.blocked += 1;
    lane.barrier = { id, code: refusal.code };
    if (this.blocked > MAX_BLOCKED_LANES) this.forgetOldestBarrier();
  }

  private lift(lane: Lane): void {
    lane.barrier = undefined;
    this.blocked -= 1;
  }

  private forgetOldestBarrier(): void {
    for (const [topic, lane] of this.lanes) {
      if (!lane.barrier) continue;
      this.lift(lane);
      if (lane.queued === 0) this.lanes.delete(topic);
      return;
    }
  }
}
