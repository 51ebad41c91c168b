import type { ClientMethod, ClientState, ClientTopic, LifelineClient } from "@lifeline/client";
import type { ContractSpec, MethodParams, MethodResult, TopicData } from "@lifeline/protocol";
import { useLifelineContext } from "./context.js";
import type { PresenceSnapshot } from "./presence-feeds.js";
import { useConnection } from "./use-connection.js";
import { usePresence } from "./use-presence.js";
import { type RequestResult, useRequest } from "./use-request.js";
import {
  type SubscriptionResult,
  type UseSubscriptionOptions,
  useSubscription,
} from "./use-subscription.js";

/** The hooks typed by one contract spec: see `createLifelineHooks()`. */
export interface LifelineHooks<S extends ContractSpec> {
  /** `useClient`, typed by the contract. */
  useClient(): LifelineClient<S>;
  /** `useConnection`: the client's connection state. */
  useConnection(): ClientState;
  /** `useSubscription`, with the topic's data type. */
  useSubscription<T extends ClientTopic<S>>(
    topic: T | null | undefined,
    options?: UseSubscriptionOptions,
  ): SubscriptionResult<TopicData<S, T>>;
  /** `useRequest`, with the method's params and result types. */
  useRequest<M extends ClientMethod<S>>(
    method: M,
  ): RequestResult<MethodParams<S, M>, MethodResult<S, M>>;
  /** `usePresence`, with the contract's topic names. */
  usePresence(topic: ClientTopic<S> | null | undefined): PresenceSnapshot;
}

/**
 * The client of the nearest `LifelineProvider`, for what the hooks do not cover
 * (`publish`, `history`, `stats`...).
 */
export function useClient<S extends ContractSpec = ContractSpec>(): LifelineClient<S> {
  return useLifelineContext("useClient").client as unknown as LifelineClient<S>;
}

/**
 * The hooks with topic names, payloads, method params and results typed by the contract
 * spec `S` (the type the client's `createClient<S>()` has; `import type` it, so no
 * validator reaches the browser bundle). Once per application:
 * `export const { useSubscription, useRequest } = createLifelineHooks<MySpec>();`
 */
export function createLifelineHooks<S extends ContractSpec>(): LifelineHooks<S> {
  return {
    useClient: useClient<S>,
    useConnection,
    useSubscription: useSubscription<S>,
    useRequest: useRequest<S>,
    usePresence: usePresence<S>,
  } as LifelineHooks<S>;
}
