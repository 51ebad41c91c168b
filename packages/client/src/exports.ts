// Everything both entries export, by name. The entries differ only in `createClient`.
export type { AbortSignalLike } from "./abort.js";
export type {
  ClientEvents,
  ClientMethod,
  ClientTopic,
  DeliveredMessage,
  LifelineClient,
} from "./api.js";
export { type ClientIdSources, type StorageLike, stableClientId } from "./client-id.js";
export { type Clock, systemClock } from "./clock.js";
export type {
  ClientState,
  ConnectionSnapshot,
  ConnectionStore,
  StateChange,
} from "./connection-store.js";
export { createDeltaStates, type DeltaStates, type DeltaUpdate } from "./delta-states.js";
export {
  ClientErrorCode,
  isLifelineError,
  LifelineError,
  type LifelineErrorCode,
} from "./errors.js";
export type { HistoryItem, HistoryOptions, HistoryResult } from "./history.js";
export type { LogLevel, LogRecord, LogSink } from "./logger.js";
export type { ClientOptions } from "./options.js";
export type { PageLifecycle } from "./page-lifecycle.js";
export type { PositionStore } from "./positions.js";
export type {
  PresenceEvent,
  PresenceListener,
  PresenceMember,
  PresenceResult,
} from "./presence.js";
export type { PublishOptions } from "./publish.js";
export { type BackoffPolicy, defaultBackoff, type SlowDownOptions } from "./reconnect.js";
export type { RequestOptions } from "./requests.js";
export type { PingOptions } from "./round-trip.js";
export type { WebSocketConstructor, WebSocketLike } from "./socket.js";
export {
  type ConnectionStatus,
  type ErrorClass,
  type TransitionCause,
  transition,
} from "./state-machine.js";
export type { AttemptRecord, ClientStats } from "./stats.js";
export type {
  GapEvent,
  GapReason,
  MessageHandler,
  MessageMeta,
  SubscribeOptions,
} from "./subscriptions.js";
export type { TokenContext, TokenOption, TokenProvider } from "./token.js";
export type { UrlContext, UrlOption, UrlProvider } from "./url-rotation.js";
export {
  type WebStoragePositionsOptions,
  webStoragePositions,
} from "./web-storage-positions.js";
