import { type Static, type TSchema, Type } from "@sinclair/typebox";

/** Protocol version spoken by this package (the `version` query parameter, `accepted_version`). */
export const PROTOCOL_VERSION = 1;
/** WebSocket subprotocol a client offers (RFC 6455 section 1.9). */
export const SUBPROTOCOL = "lifeline.v1";

/** Upper bounds that keep a single message from costing unbounded memory or CPU. */
export const Limits = {
  idLength: 128,
  topicLength: 256,
  methodLength: 128,
  epochLength: 64,
  messageLength: 1024,
  reasonLength: 256,
  features: 64,
} as const;

const strict = { additionalProperties: false } as const;

/** A client-chosen id, unique per client_id; echoed by the server. */
export const MessageId = Type.String({ minLength: 1, maxLength: Limits.idLength });
/** Topic names: `/`-separated segments of letters, digits and `_ . : @ -`. */
export const TopicName = Type.String({
  minLength: 1,
  maxLength: Limits.topicLength,
  pattern: "^[A-Za-z0-9_.:@-]+(/[A-Za-z0-9_.:@-]+)*$",
});
export const MethodName = Type.String({
  minLength: 1,
  maxLength: Limits.methodLength,
  pattern: "^[A-Za-z0-9_.:/-]+$",
});
export const Offset = Type.Integer({ minimum: 0 });
export const Epoch = Type.String({ minLength: 1, maxLength: Limits.epochLength });
/** Application payload: any JSON value, opaque to the protocol (a contract may type it). */
export const Data = Type.Unknown();

/** Where a subscription resumes: deliver every retained offset greater than `offset`. */
export const ResumePoint = Type.Object({ offset: Offset, epoch: Epoch }, strict);
export type ResumePoint = Static<typeof ResumePoint>;

// Client -> server

export const SubscribeMessage = Type.Object(
  {
    type: Type.Literal("subscribe"),
    id: MessageId,
    topic: TopicName,
    since: Type.Optional(ResumePoint),
  },
  strict,
);
export type SubscribeMessage = Static<typeof SubscribeMessage>;

export const UnsubscribeMessage = Type.Object(
  { type: Type.Literal("unsubscribe"), id: MessageId, topic: TopicName },
  strict,
);
export type UnsubscribeMessage = Static<typeof UnsubscribeMessage>;

/** Idempotent by `id`: a retried publish with a known id is acknowledged again, not appended. */
export const PublishMessage = Type.Object(
  { type: Type.Literal("publish"), id: MessageId, topic: TopicName, data: Data },
  strict,
);
export type PublishMessage = Static<typeof PublishMessage>;

export const RequestMessage = Type.Object(
  {
    type: Type.Literal("request"),
    id: MessageId,
    method: MethodName,
    params: Type.Optional(Data),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000 })),
  },
  strict,
);
export type RequestMessage = Static<typeof RequestMessage>;

export const PingMessage = Type.Object({ type: Type.Literal("ping") }, strict);
export type PingMessage = Static<typeof PingMessage>;

export const PongMessage = Type.Object({ type: Type.Literal("pong") }, strict);
export type PongMessage = Static<typeof PongMessage>;

export const ClientMessage = Type.Union(
  [SubscribeMessage, UnsubscribeMessage, PublishMessage, RequestMessage, PingMessage, PongMessage],
  { $id: "ClientMessage" },
);
export type ClientMessage = Static<typeof ClientMessage>;
export type ClientMessageType = ClientMessage["type"];

// Server -> client

export const HelloMessage = Type.Object(
  {
    type: Type.Literal("hello"),
    /** ISO 8601 time at the server when the connection was accepted. */
    server_time: Type.String({ maxLength: 64 }),
    accepted_version: Type.Integer({ minimum: 1 }),
    features: Type.Array(Type.String({ maxLength: 64 }), { maxItems: Limits.features }),
    /** Correlates this handshake with the server's log lines. */
    request_id: Type.String({ maxLength: Limits.idLength }),
    client_id: Type.String({ maxLength: Limits.idLength }),
    connection_id: Type.String({ maxLength: Limits.idLength }),
    heartbeat_interval_ms: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type HelloMessage = Static<typeof HelloMessage>;

export const SubscribedMessage = Type.Object(
  {
    type: Type.Literal("subscribed"),
    id: MessageId,
    topic: TopicName,
    /** The topic's latest offset when the subscription went live (0 for an empty topic). */
    offset: Offset,
    epoch: Epoch,
    /** True when every message after `since` was replayed; false means a gap. */
    recovered: Type.Boolean(),
    /** How many retained messages were replayed before this answer. */
    replayed: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type SubscribedMessage = Static<typeof SubscribedMessage>;

export const UnsubscribedMessage = Type.Object(
  { type: Type.Literal("unsubscribed"), id: MessageId, topic: TopicName },
  strict,
);
export type UnsubscribedMessage = Static<typeof UnsubscribedMessage>;

export const TopicMessage = Type.Object(
  {
    type: Type.Literal("message"),
    topic: TopicName,
    offset: Offset,
    epoch: Epoch,
    data: Data,
    /** Milliseconds since the Unix epoch when the message was appended. */
    ts: Type.Number(),
  },
  strict,
);
export type TopicMessage = Static<typeof TopicMessage>;

export const ErrorBody = Type.Object(
  {
    code: Type.String({ maxLength: 64 }),
    message: Type.String({ maxLength: Limits.messageLength }),
  },
  strict,
);
export type ErrorBody = Static<typeof ErrorBody>;

export const ResponseOk = Type.Object(
  { type: Type.Literal("response"), id: MessageId, ok: Type.Literal(true), result: Data },
  strict,
);
export type ResponseOk = Static<typeof ResponseOk>;

export const ResponseError = Type.Object(
  { type: Type.Literal("response"), id: MessageId, ok: Type.Literal(false), error: ErrorBody },
  strict,
);
export type ResponseError = Static<typeof ResponseError>;

export const ResponseMessage = Type.Union([ResponseOk, ResponseError]);
export type ResponseMessage = Static<typeof ResponseMessage>;

/** Result of a `publish`, carried by its `response`. */
export const PublishAck = Type.Object({ topic: TopicName, offset: Offset, epoch: Epoch }, strict);
export type PublishAck = Static<typeof PublishAck>;

export const ErrorMessage = Type.Object(
  {
    type: Type.Literal("error"),
    code: Type.String({ maxLength: 64 }),
    message: Type.String({ maxLength: Limits.messageLength }),
    id: Type.Optional(MessageId),
  },
  strict,
);
export type ErrorMessage = Static<typeof ErrorMessage>;

export const ShutdownMessage = Type.Object(
  {
    type: Type.Literal("shutdown"),
    reason: Type.String({ maxLength: Limits.reasonLength }),
    reconnect_after_ms: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type ShutdownMessage = Static<typeof ShutdownMessage>;

export const ServerMessage = Type.Union(
  [
    HelloMessage,
    SubscribedMessage,
    UnsubscribedMessage,
    TopicMessage,
    ResponseOk,
    ResponseError,
    ErrorMessage,
    ShutdownMessage,
    PingMessage,
    PongMessage,
  ],
  { $id: "ServerMessage" },
);
export type ServerMessage = Static<typeof ServerMessage>;
export type ServerMessageType = ServerMessage["type"];

/** Schemas by `type`, used to validate a message against exactly one schema. */
export const clientMessageSchemas: Readonly<Record<ClientMessageType, TSchema>> = {
  subscribe: SubscribeMessage,
  unsubscribe: UnsubscribeMessage,
  publish: PublishMessage,
  request: RequestMessage,
  ping: PingMessage,
  pong: PongMessage,
};

export const serverMessageSchemas: Readonly<Record<ServerMessageType, TSchema>> = {
  hello: HelloMessage,
  subscribed: SubscribedMessage,
  unsubscribed: UnsubscribedMessage,
  message: TopicMessage,
  response: ResponseMessage,
  error: ErrorMessage,
  shutdown: ShutdownMessage,
  ping: PingMessage,
  pong: PongMessage,
};

/** Handshake query parameters (`GET /ws?client_id=..&version=1&role=..&token=..`). */
export const Role = Type.Union([
  Type.Literal("frontend"),
  Type.Literal("admin"),
  Type.Literal("test"),
]);
export type Role = Static<typeof Role>;
export const ROLES: readonly Role[] = ["frontend", "admin", "test"];
export const ClientIdPattern = "^[A-Za-z0-9_.:-]{1,128}$";
export const ClientId = Type.String({ pattern: ClientIdPattern });
