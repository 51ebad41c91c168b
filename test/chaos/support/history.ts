/**
 * A Jepsen-style history of a run: every publish with its acknowledgement, and every
 * message each client handed to the application, in the order it did. `check()` then
 * judges the history as a whole rather than counting messages: an acknowledged publish a
 * subscriber never saw is a loss unless that subscriber was told about it with a `gap`;
 * an offset seen twice is a duplicate; a step backwards is a reordering.
 */

/** Where a message sits in its topic's log. */
export interface Position {
  readonly offset: number;
  readonly epoch: string;
}

/** What a publisher put in `data`, so a delivery can be traced to its publish. */
export interface Stamp {
  readonly uid: string;
}

export interface PublishRecord {
  readonly topic: string;
  readonly publisher: string;
  readonly uid: string;
  /** Sequence number within its publisher, from 1. */
  readonly seq: number;
  ack: Position | undefined;
  error: string | undefined;
}

export interface DeliveryRecord {
  readonly client: string;
  readonly topic: string;
  readonly uid: string | undefined;
  readonly offset: number;
  readonly epoch: string;
}

/** A `gap` event as the client reported it. */
export interface GapRecord {
  readonly client: string;
  readonly topic: string;
  readonly reason: string;
  readonly since: Position;
  readonly resumedAt: Position;
  readonly lost?: {
    readonly epoch: string;
    readonly fromOffset: number;
    readonly toOffset: number;
  };
}

export interface Anomaly {
  readonly kind:
    | "lost"
    | "duplicated"
    | "out_of_order"
    | "double_append"
    | "conflicting"
    | "publisher_order";
  readonly client?: string;
  readonly topic: string;
  readonly detail: string;
}

export interface TopicReport {
  readonly topic: string;
  readonly published: number;
  readonly acknowledged: number;
  readonly deliveries: number;
  /** Acknowledged publishes a subscriber never saw, with no gap event covering them. */
  readonly lost: number;
  /** Acknowledged publishes a subscriber missed but was told about with a gap event. */
  readonly lostWithGap: number;
  readonly duplicated: number;
  readonly outOfOrder: number;
  readonly gapEvents: number;
}

export interface HistoryReport {
  readonly publishes: number;
  readonly acknowledged: number;
  /** Publishes still waiting for an acknowledgement when the check ran. */
  readonly unacknowledged: number;
  readonly deliveries: number;
  /** Messages checked: (subscriber, acknowledged publish) pairs the subscriber had to see. */
  readonly checked: number;
  readonly lost: number;
  readonly lostWithGap: number;
  readonly duplicated: number;
  readonly outOfOrder: number;
  readonly doubleAppended: number;
  /**
   * Double appends whose two positions share an epoch: a retry not deduplicated while the
   * log kept its history. The others straddle an epoch change (history lost and announced),
   * after which a retried publish is appended again rather than answered from a lost log.
   */
  readonly doubleAppendedInEpoch: number;
  readonly conflicting: number;
  readonly publisherOrder: number;
  readonly gapEvents: number;
  /** Clients that reported at least one gap. */
  readonly clientsWithGap: number;
  readonly topics: readonly TopicReport[];
  /** The first anomalies of each kind, for the failure message. */
  readonly examples: readonly Anomaly[];
}

export interface Subscriber {
  readonly client: string;
  readonly topic: string;
  /** Where the subscriber is known to be live: later acknowledged publishes must reach it. */
  readonly from: Position;
}

const MAX_EXAMPLES = 20;

export class History {
  private readonly publishes: PublishRecord[] = [];
  private readonly deliveries = new Map<string, DeliveryRecord[]>();
  private readonly gaps: GapRecord[] = [];
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly seqByPublisher = new Map<string, number>();
  private readonly deliveryListeners = new Set<(delivery: DeliveryRecord) => void>();
  private deliveryCount = 0;

  /**
   * Records a publish about to be made; returns the data to send (carrying its uid) and the
   * functions that record its outcome.
   */
  publish(
    topic: string,
    publisher: string,
  ): { data: Stamp; acked(ack: Position): void; failed(error: unknown): void } {
    const seq = (this.seqByPublisher.get(publisher) ?? 0) + 1;
    this.seqByPublisher.set(publisher, seq);
    const record: PublishRecord = {
      topic,
      publisher,
      uid: `${publisher}#${seq}`,
      seq,
      ack: undefined,
      error: undefined,
    };
    this.publishes.push(record);
    return {
      data: { uid: record.uid },
      acked: (ack) => {
        record.ack = { offset: ack.offset, epoch: ack.epoch };
      },
      failed: (error) => {
        record.error = error instanceof Error ? error.message : String(error);
      },
    };
  }

  /**
   * Records that `client` is live on `topic` from `from` on (it delivered a marker there).
   * The first call counts; later markers do not move the start.
   */
  subscribed(client: string, topic: string, from: Position): void {
    const key = `${client}\u0000${topic}`;
    if (!this.subscribers.has(key)) this.subscribers.set(key, { client, topic, from });
  }

  deliver(client: string, topic: string, data: unknown, at: Position): void {
    const uid =
      typeof data === "object" && data !== null && typeof (data as Stamp).uid === "string"
        ? (data as Stamp).uid
        : undefined;
    const record: DeliveryRecord = { client, topic, uid, offset: at.offset, epoch: at.epoch };
    const key = `${client}\u0000${topic}`;
    let list = this.deliveries.get(key);
    if (!list) {
      list = [];
      this.deliveries.set(key, list);
    }
    list.push(record);
    this.deliveryCount += 1;
    for (const listener of this.deliveryListeners) listener(record);
  }

  gap(client: string, gap: Omit<GapRecord, "client">): void {
    this.gaps.push({ client, ...gap });
  }

  /** Calls `listener` on every delivery; returns its undo. */
  onDelivery(listener: (delivery: DeliveryRecord) => void): () => void {
    this.deliveryListeners.add(listener);
    return () => this.deliveryListeners.delete(listener);
  }

  get deliveryTotal(): number {
    return this.deliveryCount;
  }

  get acknowledged(): number {
    return this.publishes.filter((p) => p.ack !== undefined).length;
  }

  /** Highest acknowledged position per topic in its latest epoch. */
  heads(): Map<string, Position> {
    const order = this.epochOrder();
    const heads = new Map<string, Position>();
    for (const p of this.publishes) {
      if (!p.ack) continue;
      const head = heads.get(p.topic);
      const later =
        !head ||
        (order.get(p.ack.epoch) ?? 0) > (order.get(head.epoch) ?? 0) ||
        (p.ack.epoch === head.epoch && p.ack.offset > head.offset);
      if (later) heads.set(p.topic, p.ack);
    }
    return heads;
  }

  gapsOf(client: string): GapRecord[] {
    return this.gaps.filter((g) => g.client === client);
  }

  /** Epochs in the order their first acknowledgement was recorded. */
  private epochOrder(): Map<string, number> {
    const order = new Map<string, number>();
    for (const p of this.publishes) {
      if (p.ack && !order.has(p.ack.epoch)) order.set(p.ack.epoch, order.size);
    }
    for (const s of this.subscribers.values()) {
      if (!order.has(s.from.epoch)) order.set(s.from.epoch, order.size);
    }
    return order;
  }

  check(): HistoryReport {
    const examples: Anomaly[] = [];
    const countByKind = new Map<Anomaly["kind"], number>();
    const note = (anomaly: Anomaly) => {
      const count = (countByKind.get(anomaly.kind) ?? 0) + 1;
      countByKind.set(anomaly.kind, count);
      if (count <= 3 && examples.length < MAX_EXAMPLES) examples.push(anomaly);
    };
    const order = this.epochOrder();
    const rank = (epoch: string) => order.get(epoch) ?? Number.POSITIVE_INFINITY;

    // What the log holds: per topic, position -> uid, from the acknowledgements.
    const acked = new Map<string, Map<string, PublishRecord>>();
    const positionOfUid = new Map<string, Position>();
    for (const p of this.publishes) {
      if (!p.ack) continue;
      let byPosition = acked.get(p.topic);
      if (!byPosition) {
        byPosition = new Map();
        acked.set(p.topic, byPosition);
      }
      const key = `${p.ack.epoch}:${p.ack.offset}`;
      const other = byPosition.get(key);
      if (other && other.uid !== p.uid) {
        note({
          kind: "conflicting",
          topic: p.topic,
          detail: `${other.uid} and ${p.uid} were both acknowledged at ${key}`,
        });
      }
      byPosition.set(key, p);
      positionOfUid.set(p.uid, p.ack);
    }

    // A publisher's publishes to a topic are appended in the order it made them, awaited
    // one by one or not (PROTOCOL.md, "Publish order"): their offsets rise with `seq`.
    const lastByPublisher = new Map<string, PublishRecord>();
    for (const p of this.publishes) {
      if (!p.ack) continue;
      const key = `${p.publisher}\u0000${p.topic}`;
      const previous = lastByPublisher.get(key);
      if (
        previous?.ack &&
        previous.ack.epoch === p.ack.epoch &&
        previous.seq < p.seq &&
        previous.ack.offset >= p.ack.offset
      ) {
        note({
          kind: "publisher_order",
          topic: p.topic,
          detail: `${p.uid} acknowledged at ${p.ack.offset}, not after ${previous.uid} at ${previous.ack.offset}`,
        });
      }
      lastByPublisher.set(key, p);
    }

    const perTopic = new Map<
      string,
      {
        deliveries: number;
        lost: number;
        lostWithGap: number;
        duplicated: number;
        outOfOrder: number;
        gapEvents: number;
      }
    >();
    const topicStats = (topic: string) => {
      let stats = perTopic.get(topic);
      if (!stats) {
        stats = {
          deliveries: 0,
          lost: 0,
          lostWithGap: 0,
          duplicated: 0,
          outOfOrder: 0,
          gapEvents: 0,
        };
        perTopic.set(topic, stats);
      }
      return stats;
    };
    for (const g of this.gaps) topicStats(g.topic).gapEvents += 1;

    let checked = 0;
    let doubleAppended = 0;
    let doubleAppendedInEpoch = 0;
    const doubleAppendSeen = new Set<string>();
    for (const [key, list] of this.deliveries) {
      const first = list[0];
      if (!first) continue;
      const { client, topic } = first;
      const stats = topicStats(topic);
      stats.deliveries += list.length;
      const seen = new Set<string>();
      let previous: DeliveryRecord | undefined;
      for (const d of list) {
        const position = `${d.epoch}:${d.offset}`;
        if (seen.has(position)) {
          stats.duplicated += 1;
          note({ kind: "duplicated", client, topic, detail: `offset ${position} delivered again` });
        }
        seen.add(position);
        if (
          previous &&
          (rank(d.epoch) < rank(previous.epoch) ||
            (d.epoch === previous.epoch && d.offset <= previous.offset))
        ) {
          stats.outOfOrder += 1;
          note({
            kind: "out_of_order",
            client,
            topic,
            detail: `${position} after ${previous.epoch}:${previous.offset}`,
          });
        }
        previous = d;
        const logged = acked.get(topic)?.get(position);
        if (logged && d.uid !== undefined && logged.uid !== d.uid) {
          note({
            kind: "conflicting",
            client,
            topic,
            detail: `${position} carried ${d.uid}, acknowledged for ${logged.uid}`,
          });
        }
        if (d.uid !== undefined) {
          const at = positionOfUid.get(d.uid);
          const appendKey = `${topic}\u0000${d.uid}\u0000${position}`;
          if (
            at &&
            (at.epoch !== d.epoch || at.offset !== d.offset) &&
            !doubleAppendSeen.has(appendKey)
          ) {
            // The same publish appended at a second position: a retry was not deduplicated.
            doubleAppendSeen.add(appendKey);
            doubleAppended += 1;
            if (at.epoch === d.epoch) doubleAppendedInEpoch += 1;
            note({
              kind: "double_append",
              client,
              topic,
              detail: `${d.uid} delivered at ${position}, acknowledged at ${at.epoch}:${at.offset}`,
            });
          }
        }
      }
      const subscriber = this.subscribers.get(key);
      if (!subscriber) continue;
      const gaps = this.gaps.filter((g) => g.client === client && g.topic === topic);
      for (const [position, p] of acked.get(topic) ?? []) {
        const ack = p.ack as Position;
        const after =
          rank(ack.epoch) > rank(subscriber.from.epoch) ||
          (ack.epoch === subscriber.from.epoch && ack.offset > subscriber.from.offset);
        if (!after) continue;
        checked += 1;
        if (seen.has(position)) continue;
        if (gaps.some((g) => covers(g, ack))) {
          stats.lostWithGap += 1;
          continue;
        }
        stats.lost += 1;
        note({
          kind: "lost",
          client,
          topic,
          detail: `${p.uid} acknowledged at ${position} never delivered, no gap reported`,
        });
      }
    }
    for (const subscriber of this.subscribers.values()) {
      // A subscriber that never delivered anything still had to see every later publish.
      if (this.deliveries.has(`${subscriber.client}\u0000${subscriber.topic}`)) continue;
      const gaps = this.gaps.filter(
        (g) => g.client === subscriber.client && g.topic === subscriber.topic,
      );
      for (const [position, p] of acked.get(subscriber.topic) ?? []) {
        const ack = p.ack as Position;
        if (
          rank(ack.epoch) < rank(subscriber.from.epoch) ||
          (ack.epoch === subscriber.from.epoch && ack.offset <= subscriber.from.offset)
        ) {
          continue;
        }
        checked += 1;
        const stats = topicStats(subscriber.topic);
        if (gaps.some((g) => covers(g, ack))) stats.lostWithGap += 1;
        else {
          stats.lost += 1;
          note({
            kind: "lost",
            client: subscriber.client,
            topic: subscriber.topic,
            detail: `${p.uid} acknowledged at ${position} never delivered (nothing delivered at all)`,
          });
        }
      }
    }

    const topics: TopicReport[] = [...new Set([...acked.keys(), ...perTopic.keys()])]
      .sort()
      .map((topic) => {
        const stats = topicStats(topic);
        return {
          topic,
          published: this.publishes.filter((p) => p.topic === topic).length,
          acknowledged: acked.get(topic)?.size ?? 0,
          ...stats,
        };
      });
    const sum = (pick: (t: TopicReport) => number) => topics.reduce((n, t) => n + pick(t), 0);
    return {
      publishes: this.publishes.length,
      acknowledged: this.publishes.filter((p) => p.ack).length,
      unacknowledged: this.publishes.filter((p) => !p.ack && !p.error).length,
      deliveries: this.deliveryCount,
      checked,
      lost: sum((t) => t.lost),
      lostWithGap: sum((t) => t.lostWithGap),
      duplicated: sum((t) => t.duplicated),
      outOfOrder: sum((t) => t.outOfOrder),
      doubleAppended,
      doubleAppendedInEpoch,
      conflicting: countByKind.get("conflicting") ?? 0,
      publisherOrder: countByKind.get("publisher_order") ?? 0,
      gapEvents: this.gaps.length,
      clientsWithGap: new Set(this.gaps.map((g) => g.client)).size,
      topics,
      examples,
    };
  }
}

/**
 * True when a gap event tells the subscriber about the message at `at`: inside its `lost`
 * range, or in the tail of an epoch the gap left behind (that tail is unknowable, PROTOCOL.md
 * "Subscribing": a different epoch is answered without replay).
 */
function covers(gap: GapRecord, at: Position): boolean {
  if (gap.lost && gap.lost.epoch === at.epoch) {
    if (at.offset >= gap.lost.fromOffset && at.offset <= gap.lost.toOffset) return true;
  }
  if (gap.reason === "epoch_changed" && gap.since.epoch === at.epoch) {
    return at.offset > gap.since.offset;
  }
  if (gap.reason === "epoch_changed" && gap.resumedAt.epoch === at.epoch) {
    return at.offset <= gap.resumedAt.offset;
  }
  return false;
}

/** One line per figure, for test output and docs/reliability.md. */
export function summarize(report: HistoryReport): string {
  return [
    `publishes=${report.publishes} acknowledged=${report.acknowledged} unacknowledged=${report.unacknowledged}`,
    `deliveries=${report.deliveries} checked=${report.checked}`,
    `lost=${report.lost} lost_with_gap=${report.lostWithGap} duplicated=${report.duplicated}`,
    `out_of_order=${report.outOfOrder} double_appended=${report.doubleAppended} conflicting=${report.conflicting}`,
    `publisher_order=${report.publisherOrder} gap_events=${report.gapEvents} clients_with_gap=${report.clientsWithGap}`,
    ...report.examples.map((e) => `  ${e.kind} ${e.client ?? ""} ${e.topic}: ${e.detail}`),
  ].join("\n");
}
