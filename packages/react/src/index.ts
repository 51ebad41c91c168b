/**
 * React bindings for `@lifeline/client`: `LifelineProvider`, `useConnection`,
 * `useSubscription`, `useRequest` and `usePresence`, safe under server rendering and strict
 * mode.
 *
 * @packageDocumentation
 * @module @lifeline/react
 */
export { NO_PRESENCE, type PresenceSnapshot } from "./presence-feeds.js";
export { LifelineProvider, type LifelineProviderProps } from "./provider.js";
export type { Delivered } from "./topic-feeds.js";
export { createLifelineHooks, type LifelineHooks, useClient } from "./typed-hooks.js";
export { SERVER_CONNECTION_STATE, useConnection } from "./use-connection.js";
export { usePresence } from "./use-presence.js";
export {
  type RequestArgs,
  type RequestResult,
  type RequestStatus,
  useRequest,
} from "./use-request.js";
export {
  MAX_KEEP,
  type SubscriptionResult,
  type UseSubscriptionOptions,
  useSubscription,
} from "./use-subscription.js";
