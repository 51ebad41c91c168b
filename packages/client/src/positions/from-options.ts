import type { ContractSpec } from "@lifeline/protocol";
import { type ClientOptions, defaults } from "../options.js";
import { systemClock } from "../util/clock.js";
import { createPositionKeeper, type PositionKeeper, type PositionStore } from "./keeper.js";

/**
 * The keeper of `options.positions`, with the platform's store for `true`; `chosenId`
 * tells the platform the application gave `clientId`.
 */
export function keepPositions(
  options: ClientOptions<ContractSpec>,
  defaultStore: (clientId: string, chosenId: boolean) => PositionStore,
  clientId: string,
  warn: (message: string, fields: Record<string, unknown>) => void,
): PositionKeeper | undefined {
  const chosen = options.positions;
  if (chosen === undefined) return undefined;
  const saveEveryMs = options.positionsSaveMs ?? defaults.positionsSaveMs;
  if (!(Number.isFinite(saveEveryMs) && saveEveryMs >= 0)) {
    throw new RangeError(
      `createClient expects "positionsSaveMs" to be a number >= 0, got ${saveEveryMs}`,
    );
  }
  const store = chosen === true ? defaultStore(clientId, options.clientId !== undefined) : chosen;
  if (typeof store?.get !== "function" || typeof store.set !== "function") {
    throw new TypeError(
      'createClient expects "positions" to be true or a store with get(topic) and set(topic, position)',
    );
  }
  return createPositionKeeper({ store, clock: options.clock ?? systemClock, saveEveryMs, warn });
}
