import { randomBytes } from "node:crypto";

/**
 * Short unique ids for connections and handshakes: a random per-server prefix and a
 * counter (`3f9a1c07-1a`). Unique within a server by the counter and across servers and
 * restarts by the prefix; shorter and cheaper than a UUID per connection.
 */
export function createIdGenerator(): () => string {
  const prefix = randomBytes(4).toString("hex");
  let next = 0;
  return () => {
    next += 1;
    return `${prefix}-${next.toString(36)}`;
  };
}
