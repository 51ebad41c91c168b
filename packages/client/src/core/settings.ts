import type { BackoffPolicy } from "@lifeline/backoff";
import type { ContractSpec, Role } from "@lifeline/protocol";
import { type ClientOptions, defaults } from "../options.js";
import { assertClientId, stableClientId } from "../session/client-id.js";
import { type CodecName, codecNames } from "../transport/codec.js";
import { defaultProbeBackoff } from "../transport/selection.js";
import type { TransportName } from "../transport/transport.js";
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
  /** The codec asked for (the server's answer decides each connection's). */
  readonly codec: CodecName;
  /** The wires allowed, preferred first; checked by the transport selection. */
  readonly transports: readonly TransportName[];
  readonly fallbackAfter: number;
  readonly probeBackoff: BackoffPolicy;
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
    codec: assertCodec(options.codec ?? defaults.codec),
    transports: options.transports ?? defaults.transports,
    fallbackAfter: options.fallbackAfter ?? defaults.fallbackAfter,
    probeBackoff: options.probeBackoff ?? defaultProbeBackoff(),
    log: createLogger({
      sink: options.logger ?? consoleSink,
      level: options.logLevel ?? defaults.logLevel,
      now: () => clock.now(),
    }),
  };
}

function assertCodec(codec: CodecName): CodecName {
  if (codecNames.includes(codec)) return codec;
  throw new TypeError(
    `createClient expects "codec" to be "json" or "msgpack", got ${JSON.stringify(codec)}`,
  );
}
