import { type ClientOptions, createClient, type LifelineClient } from "@lifeline/client";
import type { ContractSpec } from "@lifeline/protocol";
import { createElement, type ReactNode, useEffect, useMemo, useState } from "react";
import { LifelineContext, type LifelineContextValue } from "./context.js";
import { createHold } from "./hold.js";
import { createPresenceFeeds } from "./presence-feeds.js";
import { createTopicFeeds } from "./topic-feeds.js";

/**
 * Props of `LifelineProvider`: a `client` the application made and owns, or the `options`
 * to make one that the provider owns.
 */
export type LifelineProviderProps<S extends ContractSpec = ContractSpec> = {
  /**
   * The components that use the hooks.
   * @default undefined
   */
  readonly children?: ReactNode;
} & (
  | {
      /**
       * A client from `createClient()`, shared by every hook below. The provider neither
       * connects nor closes it. For server rendering create it with `lazy: true` (or only
       * in the browser): a non-lazy client connects as soon as it is made, wherever that is.
       */
      readonly client: LifelineClient<S>;
      readonly options?: undefined;
    }
  | {
      /**
       * Options of the client the provider makes (read once, at the first render: give the
       * provider a new `key` to start over with others). The client is made `lazy`,
       * connects when the provider mounts in the browser (never during server rendering)
       * and is closed when the provider unmounts.
       */
      readonly options: ClientOptions<S>;
      readonly client?: undefined;
    }
);

/**
 * Gives the hooks below it a Lifeline client. Subscriptions are shared per topic: however
 * many components (and strict mode's double effects) subscribe to a topic, the server sees
 * one `subscribe`.
 */
export function LifelineProvider<S extends ContractSpec = ContractSpec>(
  props: LifelineProviderProps<S>,
): ReactNode {
  // Made during render, but lazy: nothing connects until the effect below, which server
  // rendering never runs. Strict mode's discarded second initializer leaves an idle client
  // that holds no socket, timer or listener.
  const [owned] = useState(() =>
    props.client ? undefined : createClient({ ...props.options, lazy: true }),
  );
  // The context is untyped; `createLifelineHooks<S>()` gives the hooks their types back.
  const client = (props.client ?? owned) as unknown as LifelineClient;
  useOwnedConnection(owned as unknown as LifelineClient | undefined);
  const value = useMemo<LifelineContextValue>(
    () => ({ client, feeds: createTopicFeeds(client), presence: createPresenceFeeds(client) }),
    [client],
  );
  return createElement(LifelineContext.Provider, { value }, props.children);
}

/** Connects the provider's own client while mounted; strict mode's remount keeps it open. */
function useOwnedConnection(owned: LifelineClient | undefined): void {
  const [hold] = useState(() =>
    owned
      ? createHold(
          () => owned.connect(),
          () => owned.close(),
        )
      : undefined,
  );
  useEffect(() => hold?.take(), [hold]);
}
