import type { ContractSpec, Role } from "@lifeline/protocol";
import { type ClientOptions, defaults } from "../options.js";
import { assertClientId, stableClientId } from "../session/client-id.js";
import { type Clock, systemClock } from "../util/clock.js";
import { consoleSink, createLogger, type Logger } from "../util/logger.js";

/** The options every part reads, with their defaults filled in (options.ts). */
export interface ClientSettings {
  readonly clock: Clock;
  readonly random: () => number;
  readonly role: Role;
  readonly clientId: string;
  readonly connectTimeoutMs: number;
  readonly helloTimeoutMs: number;
  readonly stableAfterMs: number;
  readonly heartbeatGraceMs: number;
  readonly maxMessageChars: number;
  readonly log: Logger;
}

/** Fills in the defaults; throws for a client id the server would refuse. */
export function resolveSettings(options: ClientOptions<ContractSpec>): ClientSettings {
  const clock = options.clock ?? systemClock;
  return {
    clock,
    random: options.random ?? Math.random,
    role: options.role ?? defaults.role,
    clientId: assertClientId(options.clientId ?? stableClientId(options.clientIdStorage)),
    connectTimeoutMs: options.connectTimeoutMs ?? defaults.connectTimeoutMs,
    helloTimeoutMs: options.helloTimeoutMs ?? defaults.helloTimeoutMs,
    stableAfterMs: options.stableAfterMs ?? defaults.stableAfterMs,
    heartbeatGraceMs: options.heartbeatGraceMs ?? defaults.heartbeatGraceMs,
    maxMessageChars: options.maxMessageChars ?? defaults.maxMessageChars,
    log: createLogger({
      sink: options.logger ?? consoleSink,
      level: options.logLevel ?? defaults.logLevel,
      now: () => clock.now(),
    }),
  };
}
