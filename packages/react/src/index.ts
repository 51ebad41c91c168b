/**
 * React bindings for `@lifeline/client`: `LifelineProvider`, `useConnection`,
 * `useSubscription` and `useRequest`, safe under server rendering and strict mode.
 *
 * @packageDocumentation
 * @module @lifeline/react
 */
export { LifelineProvider, type LifelineProviderProps } from "./provider.js";
export type { Delivered } from "./topic-feeds.js";
export { createLifelineHooks, type LifelineHooks, useClient } from "./typed-hooks.js";
export { SERVER_CONNECTION_STATE, useConnection } from "./use-connection.js";
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
