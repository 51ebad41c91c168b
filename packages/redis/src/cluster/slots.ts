import type { Cluster, Redis } from "ioredis";

/** Redis Cluster has 16384 hash slots. */
const SLOTS = 16384;

/** CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), which Redis Cluster hashes keys with. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

const encoder = new TextEncoder();

/**
 * The hash slot of a key or shard channel, as Redis computes it: only the hash tag (the
 * part between the first `{` and the next `}`) is hashed when it is non-empty.
 */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) return crc16(encoder.encode(key.slice(open + 1, close))) % SLOTS;
  }
  return crc16(encoder.encode(key)) % SLOTS;
}

/** `host:port` of the master serving `key`'s slot in ioredis's slot table, if known. */
export function masterAddress(cluster: Cluster, key: string): string | undefined {
  return cluster.slots[keySlot(key)]?.[0];
}

/**
 * ioredis's client for the master at `address`: the connection the cluster sends that
 * slot's commands on, so a WAIT on it covers them.
 */
export function masterClient(cluster: Cluster, address: string): Redis | undefined {
  return cluster
    .nodes("master")
    .find((node) => `${node.options.host}:${node.options.port}` === address);
}
