import type { Broker } from "./broker.js";
import type { Log } from "./logging.js";
import type { Metrics } from "./metrics.js";
import type { ResolvedOptions } from "./options.js";
import type { ServerPresence } from "./presence/presence.js";
import type { Registry } from "./registry.js";
import type { MethodHandler } from "./rpc.js";
import type { Counters } from "./stats.js";
import type { Topics } from "./topics.js";

/**
 * The state one server instance shares between its parts (admission, sessions, message
 * dispatch, lifecycle). Built once in `createServer`; nothing else holds server state.
 */
export interface ServerContext<Principal> {
  readonly opts: ResolvedOptions<Principal>;
  readonly logger: Log;
  readonly counters: Counters;
  readonly registry: Registry;
  readonly topics: Topics;
  readonly broker: Broker;
  /** Presence, when the `presence` option gives some topic one. */
  readonly presence: ServerPresence | undefined;
  readonly methods: ReadonlyMap<string, MethodHandler<Principal>>;
  /** Durations observed as they happen (request, connection lifetime). */
  readonly metrics: Pick<Metrics, "observeRequest" | "observeConnectionClosed">;
  /** Emits a public server event; a throwing listener is logged, never propagated. */
  emit(event: string, ...args: unknown[]): void;
  /** True once `close()` was called. */
  isClosing(): boolean;
  /** False while the node has stopped serving for a broker outage (broker-outage.ts). */
  isServing(): boolean;
}
