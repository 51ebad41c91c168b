export type {
  AppendOptions,
  AppendResult,
  Broker,
  BrokerHealth,
  BrokerPresence,
  EntryListener,
  HistoryOptions,
  HistoryRead,
  LogEntry,
  PresenceChange,
  PresenceEntry,
  PresenceListener,
  PresenceWatch,
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
  HandshakeInfo,
  HeartbeatOptions,
  LimitOptions,
  PerMessageDeflateOptions,
  PresenceOptions,
  RateOptions,
  ServerOptions,
  ShutdownOptions,
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
export type { ServerStats } from "./stats.js";
