import { connect, type Socket } from "node:net";
import { constants, deflateRawSync } from "node:zlib";
import type { ServerOptions } from "@lifeline/server";
import { within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { type Bystander, startBystander } from "./support/bystander.js";
import { Opcode, type RawConnection, rawConnect } from "./support/raw-socket.js";
import { startServer, type TestServer } from "./support/server.js";

// docs/reliability.md, "Bad input and attackers": each limit of PROTOCOL.md "Limits" attacked over real
// sockets, with a bystander client that must not notice.

const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function setup(
  options: ServerOptions = {},
): Promise<{ t: TestServer; bystander: Bystander }> {
  const t = await startServer(options);
  disposers.push(() => t.close());
  const bystander = await startBystander(t.server, t.url);
  disposers.push(() => bystander.close());
  return { t, bystander };
}

async function raw(
  port: number,
  path?: string,
  extra: Partial<Parameters<typeof rawConnect>[0]> = {},
) {
  const connection = await rawConnect({ port, ...(path ? { path } : {}), ...extra });
  disposers.push(() => connection.destroy());
  return connection;
}

async function hello(connection: RawConnection) {
  expect(connection.status).toBe(101);
  return await connection.next((m) => m.type === "hello");
}

describe("payload limits", () => {
  it("closes with 1009 on a frame over maxPayload, and on a header announcing 2^62 bytes", async () => {
    const { t, bystander } = await setup({ limits: { maxPayload: 1024 } });
    const big = await raw(t.port, "/ws?client_id=big&version=1&role=test");
    await hello(big);
    big.send(JSON.stringify({ type: "ping", pad: "x".repeat(2000) }));
    expect((await within(big.closed, "close", 5000)).code).toBe(1009);

    const liar = await raw(t.port, "/ws?client_id=liar&version=1&role=test");
    await hello(liar);
    const header = Buffer.alloc(14);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(2n ** 62n, 2);
    liar.sendRaw(header);
    expect((await within(liar.closed, "close", 5000)).code).toBe(1009);
    await bystander.check();
  });

  it("stops a permessage-deflate bomb at maxPayload without inflating it", async () => {
    const { t, bystander } = await setup({
      perMessageDeflate: true,
      limits: { maxPayload: 64 * 1024 },
    });
    const bomber = await raw(t.port, "/ws?client_id=bomber&version=1&role=test", { deflate: true });
    expect(bomber.headers["sec-websocket-extensions"]).toContain("permessage-deflate");
    await hello(bomber);
    // 16 MiB of spaces in a JSON string deflate to ~16 KiB: under maxPayload on the wire.
    const inflated = Buffer.concat([
      Buffer.from('{"type":"ping","pad":"'),
      Buffer.alloc(16 * 1024 * 1024, 0x20),
      Buffer.from('"}'),
    ]);
    const compressed = deflateRawSync(inflated, { flush: constants.Z_SYNC_FLUSH });
    // RFC 7692 7.2.1: the sender drops the final empty block's 00 00 ff ff.
    const wire = compressed.subarray(0, compressed.length - 4);
    expect(wire.length).toBeLessThan(64 * 1024);
    const rssBefore = process.memoryUsage().rss;
    bomber.send(wire, { rsv1: true });
    expect((await within(bomber.closed, "close", 5000)).code).toBe(1009);
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    console.info(
      `[security] deflate bomb: ${wire.length} bytes on the wire, ${inflated.length} inflated; rss grew ${grownMiB.toFixed(1)} MiB`,
    );
    expect(grownMiB).toBeLessThan(16);
    await bystander.check();
  });
});

describe("floods", () => {
  it("answers a message flood with rate_limited, then closes it with 1008", async () => {
    const { t, bystander } = await setup({
      limits: {
        rate: { perSecond: 10, burst: 20 },
        abuse: { maxViolations: 30, windowMs: 10_000 },
      },
    });
    const flooder = await raw(t.port, "/ws?client_id=flooder&version=1&role=test");
    await hello(flooder);
    for (let i = 0; i < 200; i += 1) flooder.send(JSON.stringify({ type: "ping" }));
    const closed = await within(flooder.closed, "close", 5000);
    const pongs = flooder.messages.filter((m) => (m as { type: string }).type === "pong").length;
    const limited = flooder.messages.filter(
      (m) => (m as { code?: string }).code === "rate_limited",
    ).length;
    console.info(`[security] flood: pongs=${pongs} rate_limited=${limited} close=${closed.code}`);
    expect(pongs).toBeGreaterThanOrEqual(20);
    expect(pongs).toBeLessThan(40);
    expect(limited).toBeGreaterThan(0);
    expect(closed.code).toBe(1008);
    await bystander.check();
  });

  it("refuses connections over the global cap with 503 and over the per-address cap with 429", async () => {
    const { t, bystander } = await setup({
      limits: { maxConnections: 12, maxConnectionsPerIp: 6 },
    });
    // The bystander holds one of this address's six.
    const held: RawConnection[] = [];
    for (let i = 0; i < 5; i += 1) {
      const c = await raw(t.port, `/ws?client_id=held-${i}&version=1&role=test`);
      await hello(c);
      held.push(c);
    }
    const sixth = await raw(t.port, "/ws?client_id=over-ip&version=1&role=test");
    expect(sixth.status).toBe(429);
    expect(sixth.headers["retry-after"]).toBeDefined();
    await bystander.check();
    // Other addresses (a trusted proxy's X-Forwarded-For) fill the global cap.
    const g = await startServer({ limits: { maxConnections: 4 }, trustProxy: true });
    disposers.push(() => g.close());
    const viaProxy = (client: string, address: string) =>
      raw(g.port, `/ws?client_id=${client}&version=1&role=test`, {
        headers: [`X-Forwarded-For: ${address}`],
      });
    for (let i = 0; i < 4; i += 1) {
      const c = await viaProxy(`g-${i}`, `198.51.100.${i + 1}`);
      await hello(c);
      held.push(c);
    }
    const fifth = await viaProxy("g-over", "198.51.100.99");
    expect(fifth.status).toBe(503);
    expect(fifth.headers["retry-after"]).toBeDefined();
    // Nobody is refused for good: once a slot frees, the next attempt is admitted.
    const freed = new Promise<void>((resolve) => g.server.on("disconnect", () => resolve()));
    held.at(-1)?.destroy();
    await within(freed, "the server to free a slot", 5000);
    const again = await viaProxy("g-again", "198.51.100.99");
    await hello(again);
  });
});

describe("connection floods", () => {
  it("admits exactly up to the global cap out of 400 simultaneous handshakes, counting those in progress", async () => {
    let authenticating = 0;
    let peak = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const { t, bystander } = await setup({
      limits: { maxConnections: 100, maxConnectionsPerIp: 100_000 },
      // Handshakes wait in authenticate until 99 are in progress at once: each holds a slot,
      // so everything beyond them must be refused while they wait.
      authenticate: async (_request, handshake) => {
        if (handshake.clientId === "bystander") return "user";
        authenticating += 1;
        peak = Math.max(peak, authenticating);
        if (authenticating >= 99) openGate();
        await gate;
        authenticating -= 1;
        return "user";
      },
    });
    const attempts = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        raw(t.port, `/ws?client_id=flood-${i}&version=1&role=test`).then(
          (c) => c.status,
          () => 0,
        ),
      ),
    );
    const admitted = attempts.filter((s) => s === 101).length;
    const refused = attempts.filter((s) => s === 503).length;
    console.info(
      `[security] connection flood: 400 handshakes, ${admitted} admitted, ${refused} refused 503, ${400 - admitted - refused} other; peak ${peak} authenticating at once`,
    );
    // The bystander holds one of the 100 slots.
    expect(peak).toBe(99);
    expect(admitted).toBe(99);
    expect(refused).toBe(301);
    expect(t.server.stats().connections.active).toBe(100);
    await bystander.check();
  });
});

describe("spoofed addresses", () => {
  it("does not let X-Forwarded-For from an untrusted peer dodge the per-address cap", async () => {
    const { t, bystander } = await setup({ limits: { maxConnectionsPerIp: 4 } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const c = await raw(t.port, `/ws?client_id=spoof-${i}&version=1&role=test`, {
        headers: [`X-Forwarded-For: 203.0.113.${i + 1}`],
      });
      statuses.push(c.status);
    }
    // The bystander holds one of 127.0.0.1's four slots; the header is ignored (trustProxy off).
    expect(statuses).toEqual([101, 101, 101, 429, 429, 429]);
    await bystander.check();
  });
});

describe("slow and malformed handshakes", () => {
  it("drops a handshake that trickles its headers (slowloris) after handshakeTimeoutMs", async () => {
    const { t, bystander } = await setup({ limits: { handshakeTimeoutMs: 1000 } });
    const socket: Socket = connect({ port: t.port, host: "127.0.0.1" });
    disposers.push(() => {
      socket.destroy();
    });
    const closed = new Promise<number>((resolve) =>
      socket.once("close", () => resolve(Date.now())),
    );
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const startedAt = Date.now();
    socket.write("GET /ws?client_id=slow&version=1&role=test HTTP/1.1\r\nHost: x\r\n");
    let n = 0;
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(`X-Slow-${n++}: y\r\n`);
    }, 100);
    disposers.push(() => clearInterval(trickle));
    const closedAt = await within(closed, "the slow handshake to be dropped", 5000);
    clearInterval(trickle);
    console.info(`[security] slowloris dropped after ${closedAt - startedAt} ms (timeout 1000)`);
    expect(closedAt - startedAt).toBeLessThan(3000);
    await bystander.check();
  });

  it("closes with 4500 when authenticate does not answer within handshakeTimeoutMs", async () => {
    const { t } = await setup({
      limits: { handshakeTimeoutMs: 500 },
      authenticate: (_request, handshake) =>
        handshake.clientId === "bystander" ? "ok" : new Promise<never>(() => {}),
    });
    const stuck = await raw(t.port, "/ws?client_id=stuck&version=1&role=test");
    expect(stuck.status).toBe(101);
    expect((await within(stuck.closed, "close", 3000)).code).toBe(4500);
  });

  it("survives an upgrade request with 3,000 headers (CVE-2024-37890) and one over 16 KiB", async () => {
    const { t, bystander } = await setup();
    const filler = Array.from({ length: 3000 }, (_, i) => `X-Filler-${i}: ${i}`);
    // The required headers come last: Node drops headers past maxHeadersCount (2000).
    const flood = await new Promise<string>((resolve) => {
      const socket = connect({ port: t.port, host: "127.0.0.1" });
      let answer = "";
      socket.on("data", (chunk: Buffer) => {
        answer += chunk.toString("latin1");
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve(answer));
      socket.write(
        [
          "GET /ws?client_id=flood&version=1&role=test HTTP/1.1",
          "Host: x",
          ...filler,
          "Upgrade: websocket",
          "Connection: Upgrade",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Version: 13",
          "",
          "",
        ].join("\r\n"),
      );
      setTimeout(() => socket.destroy(), 3000).unref();
    });
    expect(flood.startsWith("HTTP/1.1 101")).toBe(false);
    const big = await rawConnect({ port: t.port, headers: [`X-Big: ${"b".repeat(20_000)}`] }).catch(
      (error: Error) => ({ status: 0, error }),
    );
    expect(big.status === 431 || big.status === 400 || big.status === 0).toBe(true);
    await bystander.check();
  });
});

describe("slow consumers", () => {
  it("closes a client that stops reading at the high-water mark, with the server's buffer bounded", async () => {
    const highWaterMark = 256 * 1024;
    const { t, bystander } = await setup({ limits: { highWaterMark } });
    const slow = await raw(t.port, "/ws?client_id=slow-reader&version=1&role=test");
    await hello(slow);
    slow.send(JSON.stringify({ type: "subscribe", id: "s1", topic: "firehose" }));
    await slow.next((m) => m.type === "subscribed");
    slow.socket.pause();
    const closed = new Promise<{ code: number; at: number }>((resolve) =>
      t.server.on("disconnect", (connection, close) => {
        if (connection.clientId === "slow-reader") resolve({ code: close.code, at: Date.now() });
      }),
    );
    const payload = "z".repeat(64 * 1024);
    let maxBuffered = 0;
    let published = 0;
    // Until the server decides it is a slow consumer; its close then takes up to 1 s more
    // (the client never answers the close frame, so the server terminates it).
    for (; published < 2000 && t.server.stats().slowConsumers === 0; published += 1) {
      await t.server.publish("firehose", { payload });
      maxBuffered = Math.max(maxBuffered, t.server.stats().bufferedBytes);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const close = await within(closed, "the slow consumer to be closed", 10_000);
    console.info(
      `[security] slow consumer closed (code ${close.code}) after ${published} x 64 KiB; max server buffer ${maxBuffered} bytes (mark ${highWaterMark})`,
    );
    expect(t.server.stats().slowConsumers).toBe(1);
    expect([1013, 1006]).toContain(close.code);
    expect(maxBuffered).toBeLessThanOrEqual(highWaterMark + 2 * payload.length + 1024);
    expect(published).toBeLessThan(2000);
    await bystander.check();
  });
});

describe("binary and control frames", () => {
  it("answers a binary frame with invalid_message and keeps the connection", async () => {
    const { t } = await setup();
    const c = await raw(t.port);
    await hello(c);
    c.send(Buffer.from([1, 2, 3]), { opcode: Opcode.Binary });
    const error = await c.next((m) => m.type === "error");
    expect(error.code).toBe("invalid_message");
    c.send(JSON.stringify({ type: "ping" }));
    await c.next((m) => m.type === "pong");
  });
});
