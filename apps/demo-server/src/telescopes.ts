import type { MergePatch } from "@lifeline/protocol";
import { type Clock, every } from "./clock.js";
import {
  type Direction,
  GAIN_RANGE,
  type MoveParams,
  type MoveResult,
  type ObservatoryPublish,
  type SetGainParams,
  type SetGainResult,
  type StatusTopic,
  statusTopic,
  TELESCOPES_TOPIC,
  type TelescopeInfo,
  type TelescopeState,
} from "./contract.js";

/** A method failure with a stable code, shown to the caller (mapped to MethodError). */
export class TelescopeError extends Error {
  override readonly name = "TelescopeError";
  readonly code: "not_found" | "telescope_offline" | "telescope_busy" | "invalid_params";

  constructor(code: TelescopeError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

export interface ObservatoryOptions {
  /** Time source of the simulation and its timers. */
  readonly clock: Clock;
  /** Random numbers in [0, 1) for sensor noise. @default Math.random */
  readonly random?: () => number;
  /** Publishes the telescope list; failures are the caller's to log (they are not retried). */
  readonly publish: ObservatoryPublish<typeof TELESCOPES_TOPIC>;
  /**
   * Publishes what changed in a telescope's status, as the server's `publishDelta` does
   * (PROTOCOL.md, "Deltas"): the server merges it and sends full states often enough.
   */
  readonly publishStatus: (
    topic: StatusTopic,
    telescopeId: string,
    changes: MergePatch<TelescopeState>,
  ) => void;
  /** @default the two seestars */
  readonly telescopes?: readonly { readonly id: string; readonly name: string }[];
  /** Interval between changes-only status updates, in milliseconds (5 Hz). @default 200 */
  readonly statusIntervalMs?: number;
  /**
   * Battery drain in percent per minute while online. At 0 % a telescope is lost; it
   * charges at ten times this rate and is discovered again at 100 %. @default 0.5
   */
  readonly batteryDrainPerMinute?: number;
  /** Slew rate of a move, in degrees per second. @default 2 */
  readonly slewDegPerSecond?: number;
  /** Moves waiting behind the current one before `telescope.move` answers busy. @default 8 */
  readonly maxQueuedMoves?: number;
}

/** Every telescope with its whole state now (for tests and tools in this process). */
export interface ObservatorySnapshot {
  readonly telescopes: readonly (TelescopeInfo & { readonly state: TelescopeState })[];
}

export interface Observatory {
  /** Topics this observatory produces: every status topic and `telescopes`. */
  readonly topics: readonly string[];
  /**
   * Whether `topic` has subscribers. A status topic is published only while it has demand;
   * its first message after demand starts carries every field (on the next 5 Hz tick), and
   * `telescopes` gets the list then.
   */
  setDemand(topic: string, active: boolean): void;
  /** Whether this process may produce at all (false on a cluster node without the lease). */
  setProducing(producing: boolean): void;
  list(): ObservatorySnapshot;
  move(params: MoveParams): Promise<MoveResult>;
  setGain(params: SetGainParams): SetGainResult;
  /** Stops every timer; moves in progress are rejected. */
  close(): void;
}

export const defaultTelescopes = [
  { id: "seestar-001", name: "Seestar S50 (north dome)" },
  { id: "seestar-002", name: "Seestar S50 (south dome)" },
] as const;

const STATUS_KEYS = [
  "battery",
  "temperature_c",
  "gain",
  "ra_deg",
  "dec_deg",
  "tracking",
  "moving",
] as const satisfies readonly (keyof TelescopeState)[];

/** Sidereal tracking rate: 360 degrees per sidereal day, in degrees per millisecond. */
const SIDEREAL_DEG_PER_MS = 360 / 86_164_091;

interface Move {
  readonly direction: Direction;
  readonly endsAt: number;
}

interface Telescope {
  readonly id: string;
  readonly name: string;
  online: boolean;
  battery: number;
  gain: number;
  raDeg: number;
  decDeg: number;
  tracking: boolean;
  move: Move | undefined;
  /** Time up to which position and battery were integrated. */
  advancedTo: number;
  /** Phase of the temperature cycle, so the two telescopes differ. */
  readonly phase: number;
  /** Promise chain that runs this telescope's moves one after the other. */
  moves: Promise<unknown>;
  queuedMoves: number;
  lastSent: TelescopeState | undefined;
}

const round = (value: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/**
 * Two simulated telescopes: status drifts (temperature cycle with noise, sidereal tracking,
 * battery), moves slew at a fixed rate and resolve when they complete, and the state is
 * integrated lazily from the clock, so nothing runs while nobody watches.
 */
export function createObservatory(options: ObservatoryOptions): Observatory {
  const { clock } = options;
  const random = options.random ?? Math.random;
  const statusIntervalMs = options.statusIntervalMs ?? 200;
  const drainPerMs = (options.batteryDrainPerMinute ?? 0.5) / 60_000;
  const slewPerMs = (options.slewDegPerSecond ?? 2) / 1000;
  const maxQueuedMoves = options.maxQueuedMoves ?? 8;

  const telescopes = new Map<string, Telescope>();
  (options.telescopes ?? defaultTelescopes).forEach((spec, index) => {
    telescopes.set(spec.id, {
      id: spec.id,
      name: spec.name,
      online: true,
      battery: 92 - index * 7,
      gain: 80,
      raDeg: 83.82 + index * 118.5,
      decDeg: -5.39 + index * 46.2,
      tracking: true,
      move: undefined,
      advancedTo: clock.now(),
      phase: index * 1.7,
      moves: Promise.resolve(),
      queuedMoves: 0,
      lastSent: undefined,
    });
  });
  const topics = [...[...telescopes.keys()].map(statusTopic), TELESCOPES_TOPIC];
  const demand = new Set<string>();
  let producing = true;
  let closed = false;
  let stopLoop: (() => void) | undefined;
  /** The list is due on the next tick (`telescopes` gained demand, or production began). */
  let listDue = false;
  const pendingMoves = new Set<{ reject: (error: Error) => void; handle: unknown }>();

  /** Integrates position and battery of `t` up to `now`. */
  function advance(t: Telescope, now: number): void {
    let from = t.advancedTo;
    if (now <= from) return;
    if (t.move !== undefined) {
      const until = Math.min(now, t.move.endsAt);
      slew(t, t.move.direction, (until - from) * slewPerMs);
      from = until;
      if (until >= t.move.endsAt) t.move = undefined;
    }
    if (t.tracking && t.online) t.raDeg = wrap360(t.raDeg + (now - from) * SIDEREAL_DEG_PER_MS);
    const elapsed = now - t.advancedTo;
    if (t.online) {
      t.battery = Math.max(0, t.battery - elapsed * drainPerMs);
      if (t.battery === 0) setOnline(t, false);
    } else {
      t.battery = Math.min(100, t.battery + elapsed * drainPerMs * 10);
      if (t.battery === 100) setOnline(t, true);
    }
    t.advancedTo = now;
  }

  function slew(t: Telescope, direction: Direction, degrees: number): void {
    if (direction === "up") t.decDeg = Math.min(90, t.decDeg + degrees);
    else if (direction === "down") t.decDeg = Math.max(-90, t.decDeg - degrees);
    else if (direction === "right") t.raDeg = wrap360(t.raDeg + degrees);
    else t.raDeg = wrap360(t.raDeg - degrees);
  }

  function setOnline(t: Telescope, online: boolean): void {
    if (t.online === online) return;
    t.online = online;
    if (!online) t.move = undefined;
    if (producing && demand.has(TELESCOPES_TOPIC)) {
      options.publish(TELESCOPES_TOPIC, {
        event: online ? "discovered" : "lost",
        telescope_id: t.id,
        telescopes: infos(),
      });
    }
  }

  function infos(): TelescopeInfo[] {
    return [...telescopes.values()].map((t) => ({ id: t.id, name: t.name, online: t.online }));
  }

  function stateOf(t: Telescope, now: number): TelescopeState {
    advance(t, now);
    const cycle = Math.sin((2 * Math.PI * now) / 120_000 + t.phase);
    // Small sensor noise: enough to make the reading flicker near a rounding edge, not so
    // much that every 5 Hz update carries a new temperature.
    const noise = (random() - 0.5) * 0.04;
    return {
      battery: round(t.battery, 1),
      temperature_c: round(12 + 3 * cycle + noise, 1),
      gain: t.gain,
      ra_deg: round(t.raDeg, 3),
      dec_deg: round(t.decDeg, 3),
      tracking: t.tracking && t.online,
      ...(t.move === undefined ? {} : { moving: t.move.direction }),
    };
  }

  /** Publishes the fields that changed since the last status sent (every field after none). */
  function publishStatus(t: Telescope, now: number): void {
    const state = stateOf(t, now);
    const previous = t.lastSent;
    const changes: Record<string, unknown> = {};
    let changed = false;
    for (const key of STATUS_KEYS) {
      if (previous === undefined ? state[key] === undefined : state[key] === previous[key]) {
        continue;
      }
      // A field that is gone (the move ended) is removed with null (RFC 7386).
      changes[key] = state[key] ?? null;
      changed = true;
    }
    if (!changed) return;
    options.publishStatus(statusTopic(t.id), t.id, changes as MergePatch<TelescopeState>);
    t.lastSent = state;
  }

  function tick(): void {
    const now = clock.now();
    for (const t of telescopes.values()) {
      if (demand.has(statusTopic(t.id))) publishStatus(t, now);
      else advance(t, now);
    }
    if (listDue && demand.has(TELESCOPES_TOPIC)) {
      listDue = false;
      options.publish(TELESCOPES_TOPIC, { event: "listed", telescopes: infos() });
    }
  }

  function updateLoop(): void {
    const wanted = producing && !closed && demand.size > 0;
    if (wanted && stopLoop === undefined) {
      stopLoop = every(clock, statusIntervalMs, tick);
    } else if (!wanted && stopLoop !== undefined) {
      stopLoop();
      stopLoop = undefined;
    }
  }

  function get(id: string): Telescope {
    const t = telescopes.get(id);
    if (t === undefined) {
      throw new TelescopeError(
        "not_found",
        `unknown telescope "${id}", expected one of ${[...telescopes.keys()].join(", ")}`,
      );
    }
    return t;
  }

  function runMove(t: Telescope, params: MoveParams): Promise<MoveResult> {
    return new Promise<MoveResult>((resolve, reject) => {
      if (closed) {
        reject(new Error("observatory closed"));
        return;
      }
      const now = clock.now();
      advance(t, now);
      if (!t.online) {
        reject(new TelescopeError("telescope_offline", `telescope "${t.id}" is offline`));
        return;
      }
      t.move = { direction: params.direction, endsAt: now + params.duration_ms };
      const entry = {
        reject,
        handle: clock.setTimeout(() => {
          pendingMoves.delete(entry);
          advance(t, clock.now());
          t.move = undefined;
          if (!t.online) {
            reject(
              new TelescopeError(
                "telescope_offline",
                `telescope "${t.id}" went offline while moving`,
              ),
            );
            return;
          }
          resolve({
            telescope_id: t.id,
            direction: params.direction,
            duration_ms: params.duration_ms,
            ra_deg: round(t.raDeg, 3),
            dec_deg: round(t.decDeg, 3),
          });
        }, params.duration_ms),
      };
      pendingMoves.add(entry);
    });
  }

  return {
    topics,
    setDemand(topic, active) {
      if (!topics.includes(topic)) return;
      const had = demand.has(topic);
      if (active) demand.add(topic);
      else demand.delete(topic);
      if (active && !had) {
        // The first status after demand starts is a full snapshot. It goes out on the next
        // tick, not here: a topic becomes active while its first subscription is still
        // being set up, and a message appended right now could land before its start.
        const t = [...telescopes.values()].find((x) => statusTopic(x.id) === topic);
        if (t !== undefined) t.lastSent = undefined;
        if (topic === TELESCOPES_TOPIC) listDue = true;
      }
      updateLoop();
    },
    setProducing(next) {
      if (producing === next) return;
      producing = next;
      if (producing) {
        // A new producer knows nothing of what the previous one sent: start with snapshots.
        for (const t of telescopes.values()) t.lastSent = undefined;
        listDue = true;
      }
      updateLoop();
    },
    list() {
      const now = clock.now();
      return {
        telescopes: [...telescopes.values()].map((t) => ({
          id: t.id,
          name: t.name,
          online: t.online,
          state: stateOf(t, now),
        })),
      };
    },
    move(params) {
      if (closed) return Promise.reject(new Error("observatory closed"));
      const t = get(params.telescope_id);
      if (t.queuedMoves >= maxQueuedMoves) {
        return Promise.reject(
          new TelescopeError(
            "telescope_busy",
            `telescope "${t.id}" already has ${t.queuedMoves} moves queued`,
          ),
        );
      }
      t.queuedMoves += 1;
      const result = t.moves.then(() => runMove(t, params));
      t.moves = result.then(
        () => {
          t.queuedMoves -= 1;
        },
        () => {
          t.queuedMoves -= 1;
        },
      );
      return result;
    },
    setGain(params) {
      const t = get(params.telescope_id);
      if (
        !Number.isInteger(params.gain) ||
        params.gain < GAIN_RANGE.min ||
        params.gain > GAIN_RANGE.max
      ) {
        throw new TelescopeError(
          "invalid_params",
          `gain must be an integer from ${GAIN_RANGE.min} to ${GAIN_RANGE.max}, got ${params.gain}`,
        );
      }
      advance(t, clock.now());
      if (!t.online)
        throw new TelescopeError("telescope_offline", `telescope "${t.id}" is offline`);
      t.gain = params.gain;
      return { telescope_id: t.id, gain: t.gain };
    },
    close() {
      closed = true;
      updateLoop();
      for (const entry of pendingMoves) {
        clock.clearTimeout(entry.handle);
        entry.reject(new Error("observatory closed"));
      }
      pendingMoves.clear();
    },
  };
}

function wrap360(degrees: number): number {
  const wrapped = degrees % 360;
  return wrapped < 0 ? wrapped + 360 : wrapped;
}
