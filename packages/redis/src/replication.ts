import { type Cluster, Redis } from "ioredis";
import { masterAddress, masterClient } from "./cluster/slots.js";
import { RedisBrokerError, RedisBrokerErrorCode } from "./errors.js";

export interface ReplicationWait {
  readonly replicas: number;
  readonly timeoutMs: number;
}

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
 * WAIT on the connection that made the append: it returns once `replicas` replicas have
 * every write this connection made so far, or at the timeout with how many did. On a
 * cluster whose slot changed master since the append (a fail-over or a redirection in
 * between), no WAIT can say where the append is: its outcome is unknown.
 */
export async function confirmReplicated(
  client: Redis | Cluster,
  key: string,
  writer: Redis | undefined,
  action: string,
  { replicas, timeoutMs }: ReplicationWait,
): Promise<void> {
  if (writer === undefined || writerOf(client, key) !== writer) {
    throw new RedisBrokerError(
      RedisBrokerErrorCode.OutcomeUnknown,
      `${action}: the slot changed master during the append; retry with the same dedupe key`,
    );
  }
  const acknowledged = await writer.wait(replicas, timeoutMs);
  if (acknowledged < replicas) {
    throw new RedisBrokerError(
      RedisBrokerErrorCode.OutcomeUnknown,
      `${action}: appended on the master but ${acknowledged} of ${replicas} replicas confirmed it within ${timeoutMs} ms; a fail-over could lose it, retry with the same dedupe key`,
    );
  }
}
