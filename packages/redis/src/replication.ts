import { type Cluster, Redis } from "ioredis";
import { masterAddress, masterClient } from "./cluster/slots.js";
import { RedisBrokerError, RedisBrokerErrorCode } from "./errors.js";

/**
 * The connection a write of `key` goes out on: the client itself, or on a cluster the
 * client ioredis keeps for the master serving the key's slot. Taken before the write, so
 * the WAIT after it goes where the write went.
 */
export function writerOf(client: Redis | Cluster, key: string): Redis | undefined {
  if (client instanceof Redis) return client;
  const address = masterAddress(client, key);
  return address === undefined ? undefined : masterClient(client, address);
}

/**
 * `writer`, checked to still be the connection a write of `key` goes out on. On a cluster
 * whose slot changed master since the append (a fail-over or a redirection in between), no
 * WAIT can say where the append is: its outcome is unknown.
 */
export function sameWriter<Barrier>(
  client: Redis | Cluster,
  key: string,
  writer: Redis | undefined,
  action: string,
  barrierOf: (writer: Redis) => Barrier,
): Barrier {
  if (writer === undefined || writerOf(client, key) !== writer) {
    throw new RedisBrokerError(
      RedisBrokerErrorCode.OutcomeUnknown,
      `${action}: the slot changed master during the append; retry with the same dedupe key`,
    );
  }
  return barrierOf(writer);
}
