import type { OutboxEntry } from "./outbox.js";

/**
 * Where a publish stands:
 * - `queued`: handed to the connection, waiting in the outbox to go on the wire;
 * - `wire`: sent, and its last send may still be appended;
 * - `held`: refused for a passing reason (`overloaded`, `rate_limited`), or sent behind
 *   one that was (the server refuses it too), waiting for its lane's next release to be
 *   sent again with the same id;
 * - `blocked`: never sent, waiting behind a held publish of its lane.
 */
export type PublishStage = "queued" | "wire" | "held" | "blocked";

export interface LanePublish {
  readonly entry: OutboxEntry;
  readonly topic: string;
  /** Call order across every topic, so requeued publishes keep the order they were made in. */
  readonly seq: number;
  stage: PublishStage;
  /**
   * Sends on the wire not answered yet. A held publish sent again has two: the refusal of
   * the first send still to come is stale, and must not hold it once more.
   */
  inFlight: number;
  /**
   * False once the application stopped waiting (timeout, abort) for a publish that is on
   * the wire or held: it stays in its lane and is still sent again until the server
   * answers, because the server refuses every later publish to the topic until it does.
   */
  awaited: boolean;
}

interface Lane {
  readonly publishes: LanePublish[];
  /** Set while a release is scheduled. */
  releasing: boolean;
}

/**
 * One queue per topic of the publishes not yet answered, in the order `publish()` was
 * called (PROTOCOL.md, "Publish order"). A publish refused for a passing reason holds
 * every later one of its topic: none of them is sent until the refused one is sent
 * again, so the server cannot append them first. Pure bookkeeping: sending and timers
 * are the tracker's (publish.ts).
 */
export class PublishLanes {
  private readonly lanes = new Map<string, Lane>();
  private readonly byId = new Map<string, LanePublish>();
  private nextSeq = 0;
  private waiting = 0;

  /** Publishes held or blocked, which sit in no outbox and count against its bound. */
  get waitingCount(): number {
    return this.waiting;
  }

  /** Whether `topic` has publishes not answered yet. */
  has(topic: string): boolean {
    return this.lanes.has(topic);
  }

  get(id: string): LanePublish | undefined {
    return this.byId.get(id);
  }

  /** Adds a publish at the end of its topic's lane; `blocked` when the lane is holding. */
  add(entry: OutboxEntry, topic: string): LanePublish {
    let lane = this.lanes.get(topic);
    if (!lane) {
      lane = { publishes: [], releasing: false };
      this.lanes.set(topic, lane);
    }
    const stage: PublishStage = this.isHolding(lane) ? "blocked" : "queued";
    const publish: LanePublish = {
      entry,
      topic,
      seq: this.nextSeq++,
      stage,
      inFlight: 0,
      awaited: true,
    };
    lane.publishes.push(publish);
    this.byId.set(entry.id, publish);
    if (stage === "blocked") this.waiting += 1;
    return publish;
  }

  remove(publish: LanePublish): void {
    if (this.byId.get(publish.entry.id) !== publish) return;
    this.byId.delete(publish.entry.id);
    if (publish.stage === "held" || publish.stage === "blocked") this.waiting -= 1;
    const lane = this.lanes.get(publish.topic);
    if (!lane) return;
    const index = lane.publishes.indexOf(publish);
    if (index >= 0) lane.publishes.splice(index, 1);
    if (lane.publishes.length === 0 && !lane.releasing) this.lanes.delete(publish.topic);
  }

  /**
   * `publish` was refused for a passing reason: it is held, and so is every later publish
   * of its lane. Those on the wire are refused by the server too (PROTOCOL.md, "Publish
   * order"), so they are held now rather than when their refusal comes: a publish made
   * meanwhile must wait behind them. Those still in the outbox are returned, to be
   * withdrawn from it. Also says whether the lane needs a release scheduled.
   */
  hold(publish: LanePublish): { readonly withdraw: LanePublish[]; readonly schedule: boolean } {
    const lane = this.lanes.get(publish.topic);
    if (!lane) return { withdraw: [], schedule: false };
    this.setStage(publish, "held");
    const withdraw: LanePublish[] = [];
    for (const later of lane.publishes.slice(lane.publishes.indexOf(publish) + 1)) {
      if (later.stage === "wire") this.setStage(later, "held");
      if (later.stage !== "queued") continue;
      this.setStage(later, "blocked");
      withdraw.push(later);
    }
    const schedule = !lane.releasing;
    lane.releasing = true;
    return { withdraw, schedule };
  }

  /** The lane's release is due: its held and blocked publishes, in call order, to send. */
  release(topic: string): LanePublish[] {
    const lane = this.lanes.get(topic);
    if (!lane) return [];
    lane.releasing = false;
    const due = lane.publishes.filter((p) => p.stage === "held" || p.stage === "blocked");
    // Refused publishes nobody waits for are sent again only to open the lane for a later
    // one: alone, they stay held (the application gave up on them) until one comes.
    if (!due.some((p) => p.awaited)) return [];
    for (const publish of due) this.setStage(publish, "queued");
    if (lane.publishes.length === 0) this.lanes.delete(topic);
    return due;
  }

  /**
   * A publish was just added blocked: true when its lane has no release scheduled (it held
   * only publishes nobody waits for), and marks one as scheduled.
   */
  claimRelease(topic: string): boolean {
    const lane = this.lanes.get(topic);
    if (!lane || lane.releasing) return false;
    lane.releasing = true;
    return true;
  }

  setStage(publish: LanePublish, stage: PublishStage): void {
    const wasWaiting = publish.stage === "held" || publish.stage === "blocked";
    const isWaiting = stage === "held" || stage === "blocked";
    this.waiting += Number(isWaiting) - Number(wasWaiting);
    publish.stage = stage;
  }

  /**
   * The connection dropped, and with it the server's lanes: every publish not in the
   * outbox is to be sent again, in call order; the ones nobody awaits any more are let go
   * (the server may or may not have appended them).
   */
  takeForResend(): LanePublish[] {
    const resend: LanePublish[] = [];
    for (const publish of [...this.byId.values()]) {
      publish.inFlight = 0;
      if (publish.stage === "queued") continue;
      if (!publish.awaited) {
        this.remove(publish);
        continue;
      }
      this.setStage(publish, "queued");
      resend.push(publish);
    }
    for (const [topic, lane] of this.lanes) {
      lane.releasing = false;
      if (lane.publishes.length === 0) this.lanes.delete(topic);
    }
    return resend.sort((a, b) => a.seq - b.seq);
  }

  /** Takes every publish out, for closing the client. */
  clear(): LanePublish[] {
    const all = [...this.byId.values()];
    this.byId.clear();
    this.lanes.clear();
    this.waiting = 0;
    return all;
  }

  private isHolding(lane: Lane): boolean {
    return lane.publishes.some((p) => p.stage === "held" || p.stage === "blocked");
  }
}
