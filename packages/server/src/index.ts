/**
 * The Lifeline server on `ws`: a checked handshake, heartbeats, topics with offsets and history,
 * requests, limits, a graceful shutdown, `/health` and `/metrics`; on its own port, an
 * application's HTTP server, or a framework's (`handleUpgrade`).
 *
 * @packageDocumentation
 * @module @lifeline/server
 */
export type {
  AppendOptions,
  AppendResult,
  Broker,
  BrokerHealth,
  BrokerPresence,
  ConflateEntry,
  ControlChannel,
  ControlCommand,
  EntryListener,
  HistoryOptions,
  HistoryRead,
  InboxAddress,
  LatestQuery,
  LatestRead,
  LogEntry,
  PresenceChange,
  PresenceEntry,
  PresenceListener,
  PresenceWatch,
  SessionDirectory,
  SessionRecord,
  SessionTarget,
  TopicHead,
} from "./broker.js";
export { type Clock, systemClock, type TimerHandle } from "./clock.js";
export type { ConnectionCounters, ConnectionInfo } from "./connection.js";
export { AuthError, LifelineServerError, MethodError, ServerErrorCode } from "./errors.js";
export type { HealthReport } from "./http-endpoints.js";
export { type LogFn, redactUrl, type ServerLogger } from "./logging.js";
export { createMemoryBroker, type MemoryBrokerOptions } from "./memory-broker.js";
export type { MetricsOptions } from "./metrics.js";
export type {
  AbuseOptions,
  BrokerOutageOptions,
  CredentialOptions,
  HandshakeInfo,
  HeartbeatOptions,
  LimitOptions,
  PerMessageDeflateOptions,
  PresenceOptions,
  RateOptions,
  RefreshInfo,
  ServerOptions,
  SessionOptions,
  ShutdownOptions,
  SseOptions,
  StatusOptions,
  TakeoverPolicy,
  TopicAccess,
  TopicAction,
} from "./options.js";
export { createMemoryPresence } from "./presence/memory-presence.js";
export type { MethodContext, MethodHandler } from "./rpc.js";
export {
  createServer,
  type LifelineServer,
  type PublishResult,
  type ServerEvents,
} from "./server.js";
export type { DisconnectOptions } from "./session-control.js";
export type { SendToOptions } from "./session-services.js";
export type { ServerStats } from "./stats.js";
