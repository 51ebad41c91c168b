/**
 * A broker on Redis for `@lifeline/server`: fan-out across server nodes, offsets and history in
 * Redis Streams, and leases.
 *
 * @packageDocumentation
 * @module @lifeline/redis
 */
export { RedisBrokerError, RedisBrokerErrorCode } from "./errors.js";
export { createLease, type Lease, type LeaseOptions } from "./lease.js";
export type { Logger } from "./logger.js";
export {
  defaults as redisBrokerDefaults,
  type RedisBrokerOptions,
  type RedisPresenceOptions,
  type SentinelOptions,
} from "./options.js";
export { createRedisBroker, type RedisBroker } from "./redis-broker.js";
