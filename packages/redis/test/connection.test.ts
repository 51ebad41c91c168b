import { createServer } from "node:net";
import { createSchedule, table } from "@lifeline/backoff";
import { describe, expect, it } from "vitest";
import { defaultReconnect, openConnection, sentinelReconnect } from "../src/connection.js";
import { silentLogger } from "../src/logger.js";
import { resolveOptions } from "../src/options.js";

/** A port on 127.0.0.1 with nothing listening: every connection attempt is refused. */
async function refusingPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe("reconnect schedule", () => {
  it("the default grows from 50 ms to a 2 s cap with full jitter and never gives up", () => {
    const highest = createSchedule(defaultReconnect, { random: () => 0.999_999 });
    const delays = Array.from({ length: 12 }, () => highest.next());
    expect(delays.slice(0, 6)).toEqual([49, 99, 199, 399, 799, 1599]);
    expect(delays.slice(6)).toEqual(Array(6).fill(1999));
    const lowest = createSchedule(defaultReconnect, { random: () => 0 });
    expect(Array.from({ length: 3 }, () => lowest.next())).toEqual([0, 0, 0]);
    expect(defaultReconnect.maxAttempts).toBe(Number.POSITIVE_INFINITY);
  });

  it("through Sentinel the default is capped at 500 ms, so a promoted replica is found soon", () => {
    const highest = createSchedule(sentinelReconnect, { random: () => 0.999_999 });
    const delays = Array.from({ length: 8 }, () => highest.next());
    expect(delays).toEqual([49, 99, 199, 399, 499, 499, 499, 499]);
    const sentinel = { sentinels: [{ host: "127.0.0.1", port: 1 }], name: "m" };
    expect(resolveOptions({ sentinel }).reconnect).toBe(sentinelReconnect);
    expect(resolveOptions({ url: "redis://127.0.0.1:1" }).reconnect).toBe(defaultReconnect);
  });

  it("retries as often as the given policy allows, then ends the connection", async () => {
    const port = await refusingPort();
    const connection = openConnection(
      { url: `redis://127.0.0.1:${port}` },
      {
        role: "test",
        logger: silentLogger,
        reconnect: table({ delaysMs: [5], jitterRatio: 0, floorMs: 0, maxAttempts: 3 }),
      },
    );
    let reconnects = 0;
    connection.redis.on("reconnecting", () => {
      reconnects++;
    });
    try {
      await expect(connection.ready()).rejects.toThrow(/ended before it was ready/);
      expect(reconnects).toBe(3);
    } finally {
      await connection.close();
    }
  });
});
