import {
  DeltaSchema,
  type DeltaSchemaData,
  defineContract,
  type TopicData,
  type TopicOf,
} from "@lifeline/protocol";
import { type Static, Type } from "@sinclair/typebox";

/** The simulated telescopes, by id. */
export const TELESCOPE_IDS = ["seestar-001", "seestar-002"] as const;

/** Inclusive range `telescope.set_gain` accepts. */
export const GAIN_RANGE = { min: 0, max: 300 } as const;
/** Longest single move `telescope.move` accepts, in milliseconds. */
export const MAX_MOVE_MS = 10_000;

export const Direction = Type.Union([
  Type.Literal("up"),
  Type.Literal("down"),
  Type.Literal("left"),
  Type.Literal("right"),
]);
export type Direction = Static<typeof Direction>;

export const TelescopeId = Type.String({ minLength: 1, maxLength: 64 });

const statusFields = {
  /** Battery charge in percent. */
  battery: Type.Number({ minimum: 0, maximum: 100 }),
  /** Sensor temperature in degrees Celsius. */
  temperature_c: Type.Number(),
  gain: Type.Integer({ minimum: GAIN_RANGE.min, maximum: GAIN_RANGE.max }),
  /** Right ascension in degrees, [0, 360). */
  ra_deg: Type.Number({ minimum: 0, maximum: 360 }),
  /** Declination in degrees, [-90, 90]. */
  dec_deg: Type.Number({ minimum: -90, maximum: 90 }),
  tracking: Type.Boolean(),
  /**
   * The direction of the move in progress; absent while not moving (a status delta
   * removes it with `null`, as a JSON Merge Patch does).
   */
  moving: Type.Optional(Direction),
};

/** Every status field, as in a full snapshot. */
export const TelescopeState = Type.Object(statusFields, { additionalProperties: false });
export type TelescopeState = Static<typeof TelescopeState>;

/**
 * `telescope/<id>/status`, a delta topic keyed by the telescope id (PROTOCOL.md, "Deltas"):
 * `{key, changes}` at 5 Hz with the fields that changed, and `{key, full}` with every field
 * first and then at least every 10 s. Conflated, so a page that subscribes with `rewind`
 * gets the whole latest state at once.
 */
export const TelescopeStatus = DeltaSchema(TelescopeState);
export type TelescopeStatus = DeltaSchemaData<typeof TelescopeState>;

export const TelescopeInfo = Type.Object(
  { id: TelescopeId, name: Type.String(), online: Type.Boolean() },
  { additionalProperties: false },
);
export type TelescopeInfo = Static<typeof TelescopeInfo>;

/**
 * `telescopes`: the list, sent when the topic gains demand (`listed`), and whenever a
 * telescope is discovered or lost (then with its id). Every message carries the full list,
 * and the topic is conflated, so `rewind: 1` gives the current list.
 */
export const TelescopesEvent = Type.Object(
  {
    event: Type.Union([Type.Literal("listed"), Type.Literal("discovered"), Type.Literal("lost")]),
    telescope_id: Type.Optional(TelescopeId),
    telescopes: Type.Array(TelescopeInfo),
  },
  { additionalProperties: false },
);
export type TelescopesEvent = Static<typeof TelescopesEvent>;

/** `demo/ticks`: n rises by one per message, at 10 Hz. */
export const Tick = Type.Object(
  { n: Type.Integer({ minimum: 1 }) },
  { additionalProperties: false },
);
export type Tick = Static<typeof Tick>;

export const MoveParams = Type.Object(
  {
    telescope_id: TelescopeId,
    direction: Direction,
    duration_ms: Type.Integer({ minimum: 1, maximum: MAX_MOVE_MS }),
  },
  { additionalProperties: false },
);
export type MoveParams = Static<typeof MoveParams>;

export const MoveResult = Type.Object(
  {
    telescope_id: TelescopeId,
    direction: Direction,
    duration_ms: Type.Integer(),
    ra_deg: Type.Number(),
    dec_deg: Type.Number(),
  },
  { additionalProperties: false },
);
export type MoveResult = Static<typeof MoveResult>;

export const SetGainParams = Type.Object(
  {
    telescope_id: TelescopeId,
    gain: Type.Integer({ minimum: GAIN_RANGE.min, maximum: GAIN_RANGE.max }),
  },
  { additionalProperties: false },
);
export type SetGainParams = Static<typeof SetGainParams>;

export const SetGainResult = Type.Object(
  { telescope_id: TelescopeId, gain: Type.Integer() },
  { additionalProperties: false },
);
export type SetGainResult = Static<typeof SetGainResult>;

export const TimeResult = Type.Object(
  { server_time: Type.String(), epoch_ms: Type.Number() },
  { additionalProperties: false },
);
export type TimeResult = Static<typeof TimeResult>;

/** How the node reaches Redis, and the master(s) its broker talks to now (`host:port`). */
export const RedisInfo = Type.Object(
  {
    mode: Type.Union([Type.Literal("single"), Type.Literal("sentinel"), Type.Literal("cluster")]),
    masters: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
export type RedisInfo = Static<typeof RedisInfo>;

/** `node.info`: the node answering (the one the socket is connected to) and its Redis. */
export const NodeInfo = Type.Object(
  {
    node_id: Type.String(),
    broker: Type.Union([Type.Literal("memory"), Type.Literal("redis"), Type.Literal("external")]),
    /** Whether this node runs the simulation and the ticks. */
    producer: Type.Boolean(),
    redis: Type.Union([RedisInfo, Type.Null()]),
  },
  { additionalProperties: false },
);
export type NodeInfo = Static<typeof NodeInfo>;

/** Longest note a client may publish to `demo/notes`, in characters. */
export const MAX_NOTE_CHARS = 500;

/** `demo/notes`: what users write; the one topic browsers may publish to. */
export const Note = Type.Object(
  { text: Type.String({ maxLength: MAX_NOTE_CHARS }) },
  { additionalProperties: false },
);
export type Note = Static<typeof Note>;

/**
 * The observatory's topics and methods, shared by server and (as types only, through
 * `import type`) the page: the page is typed by the same schemas without bundling them. A topic
 * without a `publish` rule is server-owned: a client's publish there is refused `forbidden`
 * (PROTOCOL.md, "Who may publish and subscribe"), so no browser can forge telescope status
 * or ticks. Only `demo/notes` is open to clients.
 */
export const contract = defineContract({
  topics: {
    "telescope/*/status": { schema: TelescopeStatus, conflate: { key: "key" } },
    telescopes: { schema: TelescopesEvent, conflate: {} },
    "demo/ticks": Tick,
    "demo/notes": { schema: Note, publish: "clients" },
  },
  methods: {
    "telescope.move": { params: MoveParams, result: MoveResult },
    "telescope.set_gain": { params: SetGainParams, result: SetGainResult },
    echo: { params: Type.Unknown(), result: Type.Unknown() },
    time: { params: Type.Unknown(), result: TimeResult },
    "node.info": { params: Type.Unknown(), result: NodeInfo },
  },
});
export type ObservatoryContract = typeof contract;
/** The contract's spec: the type argument of `createClient` for a page that imports types only. */
export type ObservatorySpec = ObservatoryContract["spec"];
export type ObservatoryTopic = TopicOf<ObservatorySpec>;
/** A publish function typed by the contract, limited to the topics in `Topic`. */
export type ObservatoryPublish<Topic extends ObservatoryTopic = ObservatoryTopic> = <
  T extends Topic,
>(
  topic: T,
  data: TopicData<ObservatorySpec, T>,
) => void;

/** What the page reads from `/demo-config.json`. */
export interface PageConfig {
  /** The node that served the page. */
  readonly nodeId: string;
  /** Its Redis deployment and current master(s), when on Redis. */
  readonly redis: RedisInfo | null;
  readonly broker: "memory" | "redis" | "external";
  /** Whether this node currently runs the simulation and the ticks. */
  readonly producer: boolean;
  /** WebSocket URLs to use instead of the page's own origin (a cluster). */
  readonly wsUrls: readonly string[] | null;
}

export type StatusTopic = `telescope/${string}/status`;
export const statusTopic = (telescopeId: string): StatusTopic => `telescope/${telescopeId}/status`;
export const TICKS_TOPIC = "demo/ticks";
export const NOTES_TOPIC = "demo/notes";
export const TELESCOPES_TOPIC = "telescopes";
