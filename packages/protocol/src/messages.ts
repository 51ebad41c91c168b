import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { ClientIdPattern, Limits } from "./constants.js";
import { METHOD_NAME_PATTERN, TOPIC_NAME_PATTERN } from "./patterns.js";

export {
  ClientIdPattern,
  INBOX_TOPIC,
  isReservedTopic,
  Limits,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
} from "./constants.js";

const strict = { additionalProperties: false } as const;

/** A client-chosen id, unique per client_id; echoed by the server. */
export const MessageId = Type.String({
  minLength: 1,
  maxLength: Limits.idLength,
  description: "Client-chosen id, unique per client_id; the server echoes it in its answer.",
});
/** Topic names: `/`-separated segments of letters, digits and `_ . : @ -`. */
export const TopicName = Type.String({
  minLength: 1,
  maxLength: Limits.topicLength,
  pattern: TOPIC_NAME_PATTERN,
  description: "Topic name: '/'-separated non-empty segments of letters, digits and _ . : @ -.",
});
/** A request's method name: 1-128 of letters, digits and `_ . : / -`. */
export const MethodName = Type.String({
  minLength: 1,
  maxLength: Limits.methodLength,
  pattern: METHOD_NAME_PATTERN,
  description: "Name of a method registered on the server.",
});
/** A position in a topic's log: an integer that rises by one per message (the first is 1). */
export const Offset = Type.Integer({
  minimum: 0,
  description: "Position in a topic's log: rises by one per message, the first message is 1.",
});
/**
 * The name of a topic's history: it changes when the history is lost, and offsets of different
 * epochs are unrelated.
 */
export const Epoch = Type.String({
  minLength: 1,
  maxLength: Limits.epochLength,
  description: "Identity of a topic's history; changes whenever that history was lost.",
});
/** Application payload: any JSON value, opaque to the protocol (a contract may type it). */
export const Data = Type.Unknown({
  description: "Application payload: any JSON value; the application's contract may type it.",
});

/** Where a subscription resumes: deliver every retained offset greater than `offset`. */
export const ResumePoint = Type.Object(
  { offset: Offset, epoch: Epoch },
  {
    ...strict,
    description: "Resume after this offset of this epoch: the last offset the client has seen.",
  },
);
export type ResumePoint = Static<typeof ResumePoint>;

// Client -> server

/**
 * `subscribe` (client to server): deliver a topic's messages, after `since` or the last `rewind`
 * retained, then live (PROTOCOL.md, "subscribe").
 */
export const SubscribeMessage = Type.Object(
  {
    type: Type.Literal("subscribe"),
    id: MessageId,
    topic: TopicName,
    since: Type.Optional(ResumePoint),
    rewind: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          "Replay up to this many of the latest retained messages, then go live (1: the latest value). Ignored when since is given; a server refuses more than its history limit. Announced as the rewind feature.",
      }),
    ),
    presence: Type.Optional(
      Type.Boolean({
        description:
          "Also receive presence_diff events of the topic while subscribed (on a topic whose presence the server keeps). Announced as the presence feature.",
      }),
    ),
    conflate: Type.Optional(
      Type.Literal(true, {
        description:
          "The client accepts conflated delivery: on a topic the server conflates, it may send the latest message per key (marked conflated) instead of every message, to a subscriber that fell behind or asked with rewind. Announced as the conflation feature.",
      }),
    ),
  },
  {
    ...strict,
    description:
      "Subscribe to a topic: from its head, after a known offset (since), or from the last N retained messages (rewind).",
  },
);
/** A `subscribe` message. */
export type SubscribeMessage = Static<typeof SubscribeMessage>;

/** Which way a history page runs from its starting point. */
export const HistoryDirection = Type.Union([Type.Literal("forward"), Type.Literal("backward")], {
  description:
    "forward: oldest first, offsets greater than since (or from the oldest retained); backward: newest first, offsets less than since (or from the head).",
});
export type HistoryDirection = Static<typeof HistoryDirection>;

/** Reads one page of a topic's retained messages without subscribing. */
export const HistoryMessage = Type.Object(
  {
    type: Type.Literal("history"),
    id: MessageId,
    topic: TopicName,
    since: Type.Optional(ResumePoint),
    limit: Type.Integer({
      minimum: 1,
      description:
        "Most messages in the page; a server refuses more than its page limit (100 by default).",
    }),
    direction: HistoryDirection,
  },
  {
    ...strict,
    description:
      "Read a page of a topic's retained messages without subscribing; answered by a response whose result is a HistoryPage. Announced as the history feature.",
  },
);
export type HistoryMessage = Static<typeof HistoryMessage>;

/** Asks who is subscribed to a topic now (PROTOCOL.md, "Presence"). */
export const PresenceMessage = Type.Object(
  { type: Type.Literal("presence"), id: MessageId, topic: TopicName },
  {
    ...strict,
    description:
      "Ask for a topic's current members; answered by a response whose result is a PresenceState. Authorised like a subscribe. Announced as the presence feature.",
  },
);
export type PresenceMessage = Static<typeof PresenceMessage>;

/** `unsubscribe` (client to server): end a subscription; answered `unsubscribed`. */
export const UnsubscribeMessage = Type.Object(
  { type: Type.Literal("unsubscribe"), id: MessageId, topic: TopicName },
  { ...strict, description: "Stop a subscription." },
);
/** An `unsubscribe` message. */
export type UnsubscribeMessage = Static<typeof UnsubscribeMessage>;

/** Idempotent by `id`: a retried publish with a known id is acknowledged again, not appended. */
export const PublishMessage = Type.Object(
  { type: Type.Literal("publish"), id: MessageId, topic: TopicName, data: Data },
  {
    ...strict,
    description:
      "Append data to a topic. Idempotent by id within the dedupe window; acknowledged by a response whose result is a PublishAck.",
  },
);
export type PublishMessage = Static<typeof PublishMessage>;

/**
 * `request` (client to server): call a server method; answered by a `response` with the same `id`.
 */
export const RequestMessage = Type.Object(
  {
    type: Type.Literal("request"),
    id: MessageId,
    method: MethodName,
    params: Type.Optional(Data),
    timeout_ms: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3_600_000,
        description: "How long the caller waits, in ms; the server may cap it.",
      }),
    ),
  },
  { ...strict, description: "Call a method; answered by a response with the same id." },
);
/** A `request` message. */
export type RequestMessage = Static<typeof RequestMessage>;

/** Replaces the connection's credentials without reconnecting (announced as `refresh`). */
export const RefreshMessage = Type.Object(
  {
    type: Type.Literal("refresh"),
    id: MessageId,
    token: Type.String({
      minLength: 1,
      maxLength: Limits.tokenLength,
      description: "The new credential for the server's authenticate hook; never logged.",
    }),
  },
  {
    ...strict,
    description:
      "Replace the connection's credentials in band; answered by a response whose result is a RefreshResult, or unauthorized. Announced as the refresh feature.",
  },
);
export type RefreshMessage = Static<typeof RefreshMessage>;

/** `ping` (either direction): asks for a `pong` (PROTOCOL.md, "Liveness"). */
export const PingMessage = Type.Object(
  { type: Type.Literal("ping") },
  { ...strict, description: "Application-level heartbeat; the peer answers pong." },
);
/** A `ping` message. */
export type PingMessage = Static<typeof PingMessage>;

/** `pong` (either direction): the answer to a `ping`. */
export const PongMessage = Type.Object(
  { type: Type.Literal("pong") },
  { ...strict, description: "Answer to ping." },
);
/** A `pong` message. */
export type PongMessage = Static<typeof PongMessage>;

/** Every message a client may send, as one union schema. */
export const ClientMessage = Type.Union(
  [
    SubscribeMessage,
    UnsubscribeMessage,
    PublishMessage,
    RequestMessage,
    HistoryMessage,
    PresenceMessage,
    RefreshMessage,
    PingMessage,
    PongMessage,
  ],
  { $id: "ClientMessage" },
);
/** Every message a client may send. */
export type ClientMessage = Static<typeof ClientMessage>;
/** The `type` of a client message. */
export type ClientMessageType = ClientMessage["type"];

// Server -> client

/**
 * `hello` (server to client): the first message on an accepted connection (PROTOCOL.md,
 * "Accepted").
 */
export const HelloMessage = Type.Object(
  {
    type: Type.Literal("hello"),
    /** ISO 8601 time at the server when the connection was accepted. */
    server_time: Type.String({
      maxLength: 64,
      description: "ISO 8601 time at the server when the connection was accepted.",
    }),
    accepted_version: Type.Integer({
      minimum: 1,
      description: "Protocol version the server speaks on this connection.",
    }),
    features: Type.Array(Type.String({ maxLength: 64 }), {
      maxItems: Limits.features,
      description: "Optional capabilities of the server; unknown ones must be ignored.",
    }),
    /** Correlates this handshake with the server's log lines. */
    request_id: Type.String({
      maxLength: Limits.idLength,
      description: "Correlates this handshake with the server's log lines.",
    }),
    client_id: Type.String({
      maxLength: Limits.idLength,
      description: "The client_id the server registered this connection under.",
    }),
    connection_id: Type.String({
      maxLength: Limits.idLength,
      description: "Unique id of this connection at the server.",
    }),
    heartbeat_interval_ms: Type.Integer({
      minimum: 0,
      description: "Interval of the server's pings, in ms.",
    }),
    /** Over the HTTP fallback only: the secret that authorizes this connection's posts. */
    sse_key: Type.Optional(
      Type.String({
        minLength: 22,
        maxLength: 128,
        pattern: "^[A-Za-z0-9_-]+$",
        description:
          "Over the HTTP fallback (SSE) only: the secret (base64url, at least 128 random bits) that authorizes this connection's posts.",
      }),
    ),
  },
  { ...strict, description: "First message on every accepted connection." },
);
/** A `hello` message. */
export type HelloMessage = Static<typeof HelloMessage>;

/**
 * `subscribed` (server to client): a subscription is live from `offset`; `recovered` says whether
 * the replay was complete.
 */
export const SubscribedMessage = Type.Object(
  {
    type: Type.Literal("subscribed"),
    id: MessageId,
    topic: TopicName,
    /** The topic's latest offset when the subscription went live (0 for an empty topic). */
    offset: Type.Integer({
      minimum: 0,
      description:
        "The topic's latest offset when the subscription went live (0 for an empty topic); every later offset is delivered.",
    }),
    epoch: Epoch,
    /** True when every message after `since` was replayed; false means a gap. */
    recovered: Type.Boolean({
      description:
        "With since: true when every message after it was replayed; false when some were lost (gap).",
    }),
    /** How many retained messages were replayed before this answer. */
    replayed: Type.Integer({
      minimum: 0,
      description: "How many retained messages were replayed before this answer.",
    }),
  },
  { ...strict, description: "Answer to subscribe: the subscription is live." },
);
/** A `subscribed` message. */
export type SubscribedMessage = Static<typeof SubscribedMessage>;

/** `unsubscribed` (server to client): the answer to an `unsubscribe`. */
export const UnsubscribedMessage = Type.Object(
  { type: Type.Literal("unsubscribed"), id: MessageId, topic: TopicName },
  { ...strict, description: "Answer to unsubscribe." },
);
/** An `unsubscribed` message. */
export type UnsubscribedMessage = Static<typeof UnsubscribedMessage>;

/**
 * `message` (server to client): one entry of a topic's log, with its `offset`, `epoch` and append
 * time `ts`.
 */
export const TopicMessage = Type.Object(
  {
    type: Type.Literal("message"),
    topic: TopicName,
    offset: Offset,
    epoch: Epoch,
    data: Data,
    /** Milliseconds since the Unix epoch when the message was appended. */
    ts: Type.Number({ description: "Milliseconds since the Unix epoch when it was appended." }),
    /** The latest message of its key, standing for the offsets skipped before it. */
    conflated: Type.Optional(
      Type.Literal(true, {
        description:
          "The latest message of its key on a conflated topic: offsets skipped since the previous message were superseded, not lost. Sent only on subscriptions that asked with conflate.",
      }),
    ),
  },
  { ...strict, description: "One entry of a subscribed topic's log, replayed or live." },
);
/** A topic `message`. */
export type TopicMessage = Static<typeof TopicMessage>;

/**
 * The `{ code, message }` of a failed `response`: a code of the error-code table or the
 * application's own.
 */
export const ErrorBody = Type.Object(
  {
    code: Type.String({
      maxLength: 64,
      description: "Stable error code (see ErrorCode); unknown codes must be accepted.",
    }),
    message: Type.String({
      maxLength: Limits.messageLength,
      description: "Human-readable explanation; not meant to be parsed.",
    }),
  },
  strict,
);
/** The error of a failed `response`. */
export type ErrorBody = Static<typeof ErrorBody>;

/**
 * A successful `response`: `result` is the method's result (`null` when it returns nothing) or a
 * publish's acknowledgement.
 */
export const ResponseOk = Type.Object(
  { type: Type.Literal("response"), id: MessageId, ok: Type.Literal(true), result: Data },
  {
    ...strict,
    description: "Success answer to request (result: the method's result) or publish (PublishAck).",
  },
);
/** A successful `response`. */
export type ResponseOk = Static<typeof ResponseOk>;

/** A failed `response`: `error` says why; the connection stays open. */
export const ResponseError = Type.Object(
  { type: Type.Literal("response"), id: MessageId, ok: Type.Literal(false), error: ErrorBody },
  {
    ...strict,
    description: "Failure answer to request, publish or a malformed message that had a usable id.",
  },
);
/** A failed `response`. */
export type ResponseError = Static<typeof ResponseError>;

/**
 * `response` (server to client): the answer to a `request`, `publish` or `history`, or a refusal of
 * any message with a usable `id`.
 */
export const ResponseMessage = Type.Union([ResponseOk, ResponseError]);
/** A `response` message, successful or failed. */
export type ResponseMessage = Static<typeof ResponseMessage>;

/** Result of a `publish`, carried by its `response`. */
export const PublishAck = Type.Object(
  { topic: TopicName, offset: Offset, epoch: Epoch },
  { ...strict, description: "Result of a successful publish: where the data was appended." },
);
export type PublishAck = Static<typeof PublishAck>;

/** One retained message in a `HistoryPage`; its epoch is the page's. */
export const HistoryEntry = Type.Object(
  {
    offset: Offset,
    data: Data,
    ts: Type.Number({ description: "Milliseconds since the Unix epoch when it was appended." }),
  },
  { ...strict, description: "One retained message of a history page." },
);
export type HistoryEntry = Static<typeof HistoryEntry>;

/** Result of a `history`, carried by its `response`. */
export const HistoryPage = Type.Object(
  {
    topic: TopicName,
    epoch: Epoch,
    head: Type.Integer({
      minimum: 0,
      description: "The topic's latest offset when the page was read (0 for an empty topic).",
    }),
    messages: Type.Array(HistoryEntry, {
      description: "In the page's direction: ascending offsets forward, descending backward.",
    }),
    next: Type.Optional(ResumePoint),
  },
  {
    ...strict,
    description:
      "Result of a successful history: a page of retained messages; next, when present, is the since of the following page in the same direction.",
  },
);
export type HistoryPage = Static<typeof HistoryPage>;

/** One member of a topic's presence: a client_id subscribed to it on any node. */
export const PresenceMember = Type.Object(
  {
    client_id: Type.String({
      maxLength: Limits.idLength,
      description:
        "The member's client_id; a client is one member however many connections it has.",
    }),
    user: Type.Optional(
      Type.String({
        maxLength: Limits.userLength,
        description:
          "The identity the server's authentication gave the member's connection (never a credential); absent without authentication.",
      }),
    ),
    joined_at: Type.Integer({
      minimum: 0,
      description:
        "Milliseconds since the Unix epoch when the member joined; a reconnect within the grace period keeps it.",
    }),
  },
  { ...strict, description: "One member of a topic's presence." },
);
export type PresenceMember = Static<typeof PresenceMember>;

/** Result of a `presence`, carried by its `response`. */
export const PresenceState = Type.Object(
  {
    topic: TopicName,
    count: Type.Integer({ minimum: 0, description: "How many members the topic has." }),
    members: Type.Array(PresenceMember, {
      description:
        "The members, at most the server's member limit of them: count > members.length says the list was cut.",
    }),
  },
  { ...strict, description: "Result of a successful presence: the topic's current members." },
);
export type PresenceState = Static<typeof PresenceState>;

/** Joins and leaves of a topic's presence since the last diff, batched per tick. */
export const PresenceDiffMessage = Type.Object(
  {
    type: Type.Literal("presence_diff"),
    topic: TopicName,
    joins: Type.Array(PresenceMember, { description: "Members that joined." }),
    leaves: Type.Array(PresenceMember, { description: "Members that left." }),
  },
  {
    ...strict,
    description:
      "Changes of a topic's presence, sent to subscriptions opened with presence: true; one client_id is in at most one of the two lists.",
  },
);
export type PresenceDiffMessage = Static<typeof PresenceDiffMessage>;

/**
 * `error` (server to client): the answer to a message that had no usable `id` (PROTOCOL.md, "Errors
 * and invalid input").
 */
export const ErrorMessage = Type.Object(
  {
    type: Type.Literal("error"),
    code: Type.String({
      maxLength: 64,
      description: "Stable error code (see ErrorCode); unknown codes must be accepted.",
    }),
    message: Type.String({
      maxLength: Limits.messageLength,
      description: "Human-readable explanation; not meant to be parsed.",
    }),
    id: Type.Optional(MessageId),
  },
  {
    ...strict,
    description: "A client message was refused and had no usable id to answer with a response.",
  },
);
/** An `error` message. */
export type ErrorMessage = Static<typeof ErrorMessage>;

/**
 * `shutdown` (server to client): the server is going away; reconnect after `reconnect_after_ms` (a
 * 1012 close follows).
 */
export const ShutdownMessage = Type.Object(
  {
    type: Type.Literal("shutdown"),
    reason: Type.String({ maxLength: Limits.reasonLength }),
    reconnect_after_ms: Type.Integer({
      minimum: 0,
      description: "Wait this long (ms) before reconnecting.",
    }),
  },
  { ...strict, description: "The server is going down; a close with 1012 follows." },
);
/** A `shutdown` message. */
export type ShutdownMessage = Static<typeof ShutdownMessage>;

/** Milliseconds since the Unix epoch at which a connection's credentials expire. */
export const ExpiresAt = Type.Integer({
  minimum: 0,
  description: "When the connection's credentials expire, in milliseconds since the Unix epoch.",
});

/** The server's notice that the connection's credentials expire soon (announced as `refresh`). */
export const TokenExpiringMessage = Type.Object(
  { type: Type.Literal("token_expiring"), expires_at: ExpiresAt },
  {
    ...strict,
    description:
      "The connection's credentials expire at expires_at; send refresh before, or the server closes with 4401.",
  },
);
export type TokenExpiringMessage = Static<typeof TokenExpiringMessage>;

/** Result of a successful `refresh`, carried by its `response`. */
export const RefreshResult = Type.Object(
  {
    expires_at: Type.Optional(ExpiresAt),
    forbidden: Type.Array(TopicName, {
      description:
        "Subscriptions the new credentials no longer allow: each was dropped, after an unsubscribed carrying the refresh's id.",
    }),
  },
  {
    ...strict,
    description:
      "Result of a successful refresh: when the new credentials expire (absent: they do not) and the subscriptions it dropped.",
  },
);
export type RefreshResult = Static<typeof RefreshResult>;

/** Every message a server may send, as one union schema. */
export const ServerMessage = Type.Union(
  [
    HelloMessage,
    SubscribedMessage,
    UnsubscribedMessage,
    TopicMessage,
    PresenceDiffMessage,
    ResponseOk,
    ResponseError,
    ErrorMessage,
    ShutdownMessage,
    TokenExpiringMessage,
    PingMessage,
    PongMessage,
  ],
  { $id: "ServerMessage" },
);
/** Every message a server may send. */
export type ServerMessage = Static<typeof ServerMessage>;
/** The `type` of a server message. */
export type ServerMessageType = ServerMessage["type"];

/** Schemas by `type`, used to validate a message against exactly one schema. */
export const clientMessageSchemas: Readonly<Record<ClientMessageType, TSchema>> = {
  subscribe: SubscribeMessage,
  unsubscribe: UnsubscribeMessage,
  publish: PublishMessage,
  request: RequestMessage,
  history: HistoryMessage,
  presence: PresenceMessage,
  refresh: RefreshMessage,
  ping: PingMessage,
  pong: PongMessage,
};

/** The schema of each server message, by its `type`. */
export const serverMessageSchemas: Readonly<Record<ServerMessageType, TSchema>> = {
  hello: HelloMessage,
  subscribed: SubscribedMessage,
  unsubscribed: UnsubscribedMessage,
  message: TopicMessage,
  presence_diff: PresenceDiffMessage,
  response: ResponseMessage,
  error: ErrorMessage,
  shutdown: ShutdownMessage,
  token_expiring: TokenExpiringMessage,
  ping: PingMessage,
  pong: PongMessage,
};

/** Handshake query parameters (`GET /ws?client_id=..&version=1&role=..&token=..`). */
export const Role = Type.Union(
  [Type.Literal("frontend"), Type.Literal("admin"), Type.Literal("test")],
  { description: "What the client is; the server's authorize hook may use it." },
);
export type Role = Static<typeof Role>;
/** The roles a server accepts by default in the `role` query parameter. */
export const ROLES: readonly Role[] = ["frontend", "admin", "test"];
/**
 * A `client_id`: 1-128 of letters, digits and `_ . : -`, stable for one logical client across
 * reconnects.
 */
export const ClientId = Type.String({ pattern: ClientIdPattern });

/**
 * The query string of the upgrade request. Every value arrives as a string; `token` is a
 * credential the server never logs.
 */
export const HandshakeQuery = Type.Object(
  {
    client_id: Type.String({
      pattern: ClientIdPattern,
      description: "Stable id of the client (one tab, device or process).",
    }),
    version: Type.Literal("1", { description: "Protocol version (PROTOCOL_VERSION)." }),
    role: Role,
    token: Type.Optional(
      Type.String({ description: "Credential for the authenticate hook; redacted from logs." }),
    ),
  },
  { description: "Query parameters of GET /ws; unknown parameters are ignored." },
);
export type HandshakeQuery = Static<typeof HandshakeQuery>;
