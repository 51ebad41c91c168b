// Everything both entries export, by name. The entries differ only in `createClient`.

export type {
  ClientEvents,
  ClientMethod,
  ClientTopic,
  DeliveredMessage,
  LifelineClient,
} from "./api.js";
export { createDeltaStates, type DeltaStates, type DeltaUpdate } from "./delivery/delta-states.js";
export type { HistoryItem, HistoryOptions, HistoryResult } from "./delivery/history.js";
export type {
  PresenceEvent,
  PresenceListener,
  PresenceMember,
  PresenceResult,
} from "./delivery/presence.js";
export type { PublishOptions } from "./delivery/publish.js";
export type { RequestOptions } from "./delivery/requests.js";
export type {
  GapEvent,
  GapReason,
  MessageHandler,
  MessageMeta,
  SubscribeOptions,
} from "./delivery/subscribe-options.js";
export {
  ClientErrorCode,
  isLifelineError,
  LifelineError,
  type LifelineErrorCode,
} from "./errors.js";
export type { ClientOptions } from "./options.js";
export type { PositionStore } from "./positions/keeper.js";
export {
  type WebStoragePositionsOptions,
  webStoragePositions,
} from "./positions/web-storage-store.js";
export type { PageLifecycle } from "./reconnect/page-lifecycle.js";
export { type BackoffPolicy, defaultBackoff, type SlowDownOptions } from "./reconnect/planner.js";
export { type ClientIdSources, stableClientId } from "./session/client-id.js";
export type { StorageLike } from "./session/storage.js";
export type { TokenContext, TokenOption, TokenProvider } from "./session/token.js";
export {
  type ConnectionStatus,
  type ErrorClass,
  type TransitionCause,
  transition,
} from "./state/machine.js";
export type { PingOptions } from "./state/round-trip.js";
export type { AttemptRecord, ClientStats } from "./state/stats.js";
export type {
  ClientState,
  ConnectionSnapshot,
  ConnectionStore,
  StateChange,
} from "./state/store.js";
export type { CodecName } from "./transport/codec.js";
export type { WebSocketConstructor, WebSocketLike } from "./transport/socket.js";
export type { SseLimits, SseSocketOptions } from "./transport/sse.js";
export type { TransportName } from "./transport/transport.js";
export type { UrlContext, UrlOption, UrlProvider } from "./transport/url-rotation.js";
export type { AbortSignalLike } from "./util/abort.js";
export { type Clock, systemClock } from "./util/clock.js";
export type { LogLevel, LogRecord, LogSink } from "./util/logger.js";
