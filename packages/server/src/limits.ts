import type { Log } from "./logging.js";
import { bump, type Counters } from "./stats.js";

/**
 * The resource limits that refuse work, named as their options are: the name is the
 * `limit` label of `lifeline_limit_refusals_total` and the `limit` field of the log line.
 */
export const Limit = {
  SubscriptionsPerConnection: "maxSubscriptionsPerConnection",
  PendingRequestsPerConnection: "maxPendingRequestsPerConnection",
  Topics: "maxTopics",
  HandshakesPerAddress: "handshakeRate.perAddress",
  HandshakesPerClient: "handshakeRate.perClient",
} as const;
export type Limit = (typeof Limit)[keyof typeof Limit];

/** Who was refused, for the log line: never the token, never the request URL. */
export interface RefusalFields {
  readonly connection_id?: string;
  readonly client_id?: string;
  readonly remote_address?: string;
  readonly topic?: string;
}

/**
 * Counts every refusal and logs some at warn: given an object (a connection), the first of
 * each limit for it, with a boolean when told to. A client that keeps pushing past a limit
 * would otherwise turn each refusal into a log line, and the log into what it exhausts.
 */
export interface LimitReporter {
  refused(limit: Limit, fields: RefusalFields, log: object | boolean): void;
}

export function createLimitReporter(counters: Counters, logger: Log): LimitReporter {
  const warned = new WeakMap<object, Set<Limit>>();
  return {
    refused(limit, fields, log) {
      bump(counters.limitRefusals, limit);
      if (log === false) return;
      if (log !== true) {
        let seen = warned.get(log);
        if (seen?.has(limit)) return;
        if (!seen) {
          seen = new Set();
          warned.set(log, seen);
        }
        seen.add(limit);
      }
      logger.warn({ ...fields, limit }, `refused: ${limit} reached`);
    },
  };
}
