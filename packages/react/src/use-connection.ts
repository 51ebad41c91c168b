import type { ClientState } from "@lifeline/client";
import { useSyncExternalStore } from "react";
import { useLifelineContext } from "./context.js";

/**
 * The state during server rendering and hydration: the client has not started there, and
 * the first browser render must match the server's HTML.
 */
export const SERVER_CONNECTION_STATE: ClientState = Object.freeze({
  state: "idle",
  status: "idle",
  attempt: 0,
  since: 0,
});

const serverSnapshot = () => SERVER_CONNECTION_STATE;

/**
 * The connection's state (`idle`, `connecting`, `open`, `degraded`, `reconnecting`,
 * `closed`, `failed`), the retry count, the next retry time and the latest cause,
 * re-rendering on every transition. `idle` during server rendering and hydration.
 */
export function useConnection(): ClientState {
  const { client } = useLifelineContext("useConnection");
  return useSyncExternalStore(client.state.subscribe, client.state.getSnapshot, serverSnapshot);
}
