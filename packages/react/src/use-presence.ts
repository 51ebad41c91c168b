import type { ClientTopic } from "@lifeline/client";
import type { ContractSpec } from "@lifeline/protocol";
import { useCallback, useSyncExternalStore } from "react";
import { useLifelineContext } from "./context.js";
import { NO_PRESENCE, type PresenceSnapshot } from "./presence-feeds.js";

const serverSnapshot = () => NO_PRESENCE;

/**
 * Who is subscribed to `topic` now (PROTOCOL.md, "Presence"): the members, kept current by
 * the server's joins and leaves, across reconnects without flicker. Every `usePresence` of
 * a topic in the provider shares one subscription with `presence: true`. The server must
 * keep presence for the topic (its `presence` option) and let this client subscribe to it;
 * otherwise `error` says why. `null` or `undefined` watches nothing; empty during server
 * rendering.
 */
export function usePresence<S extends ContractSpec = ContractSpec>(
  topic: ClientTopic<S> | null | undefined,
): PresenceSnapshot {
  const { presence } = useLifelineContext("usePresence");
  const subscribe = useCallback(
    (onChange: () => void) => (topic == null ? () => {} : presence.watch(topic, onChange)),
    [presence, topic],
  );
  const getSnapshot = useCallback(
    () => (topic == null ? NO_PRESENCE : presence.snapshot(topic)),
    [presence, topic],
  );
  return useSyncExternalStore(subscribe, getSnapshot, serverSnapshot);
}
