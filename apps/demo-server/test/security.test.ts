import { request as httpRequest } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { isLoopback } from "../src/admin.js";
import { type DemoServer, startDemoServer } from "../src/app.js";
import { createDemoMemoryBroker } from "../src/broker.js";
import { parseConfig } from "../src/config.js";
import { MAX_NOTE_CHARS, NOTES_TOPIC, TICKS_TOPIC } from "../src/contract.js";

const ADMIN_TOKEN = "s3cret-admin-token-0123";
const disposers: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function start(
  options: { isTrustedAddress?: (address: string) => boolean; adminToken?: string | null } = {},
) {
  const { adminToken = ADMIN_TOKEN, ...demoOptions } = options;
  const broker = createDemoMemoryBroker();
  const env = {
    PORT: "0",
    LOG_LEVEL: "silent",
    ...(adminToken === null ? {} : { LIFELINE_ADMIN_TOKEN: adminToken }),
  };
  const demo = await startDemoServer({ config: parseConfig(env), broker, ...demoOptions });
  disposers.push(() => broker.close());
  disposers.push(() => demo.close());
  return demo;
}

type Frame = Record<string, unknown>;

/** A browser-role socket speaking the wire protocol directly, as a forger would. */
async function browser(demo: DemoServer, clientId: string) {
  const ws = new WebSocket(
    `ws://127.0.0.1:${demo.port}/ws?client_id=${clientId}&version=1&role=frontend`,
    "lifeline.v1",
  );
  disposers.push(() => ws.close());
  const frames: Frame[] = [];
  const waiters = new Set<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }>();
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    frames.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.match(frame)) {
        waiters.delete(waiter);
        waiter.resolve(frame);
      }
    }
  });
  let closed = false;
  ws.on("close", () => {
    closed = true;
  });
  const next = (match: (f: Frame) => boolean): Promise<Frame> => {
    const seen = frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => waiters.add({ match, resolve }));
  };
  await next((f) => f.type === "hello");
  return {
    next,
    get closed() {
      return closed;
    },
    /** Sends a publish and resolves with its response. */
    publish(id: string, topic: string, data: unknown): Promise<Frame> {
      ws.send(JSON.stringify({ type: "publish", id, topic, data }));
      return next((f) => f.type === "response" && f.id === id);
    },
    send(frame: Frame) {
      ws.send(JSON.stringify(frame));
    },
  };
}

describe("client publishes on the demo", () => {
  it("refuses forged telescope status, ticks and telescope lists with forbidden and keeps the connection", async () => {
    const demo = await start();
    const forger = await browser(demo, "forger");
    // Each payload is valid by the contract: only who sends it is wrong.
    const forged = [
      ["telescope/seestar-001/status", { key: "seestar-001", changes: { battery: 1 } }],
      [TICKS_TOPIC, { n: 999_999 }],
      ["telescopes", { event: "lost", telescope_id: "seestar-001", telescopes: [] }],
    ] as const;
    for (const [i, [topic, data]] of forged.entries()) {
      expect(await forger.publish(`p${i}`, topic, data)).toMatchObject({
        ok: false,
        error: { code: "forbidden" },
      });
      expect((await demo.lifeline.broker.head(topic)).offset).toBe(0);
    }
    // Still the same connection: it goes on publishing where it may.
    expect(await forger.publish("note", NOTES_TOPIC, { text: "still here" })).toMatchObject({
      ok: true,
    });
    expect(forger.closed).toBe(false);
  });

  it("delivers a note from one browser to another, and refuses one over 500 characters", async () => {
    const demo = await start();
    const reader = await browser(demo, "reader");
    const writer = await browser(demo, "writer");
    reader.send({ type: "subscribe", id: "s", topic: NOTES_TOPIC });
    await reader.next((f) => f.type === "subscribed");
    expect(await writer.publish("n1", NOTES_TOPIC, { text: "clear skies" })).toMatchObject({
      ok: true,
      result: { topic: NOTES_TOPIC, offset: 1 },
    });
    expect(await reader.next((f) => f.type === "message")).toMatchObject({
      topic: NOTES_TOPIC,
      data: { text: "clear skies" },
    });
    const tooLong = { text: "x".repeat(MAX_NOTE_CHARS + 1) };
    expect(await writer.publish("n2", NOTES_TOPIC, tooLong)).toMatchObject({
      ok: false,
      error: { code: "invalid_message" },
    });
  });
});

function getStatus(
  port: number,
  options: { from?: string; headers?: Record<string, string> } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/api/websocket/status",
        localAddress: options.from ?? "127.0.0.1",
        headers: options.headers,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("the status endpoint", () => {
  it("by default trusts loopback peers only", () => {
    for (const address of ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"]) {
      expect(isLoopback(address)).toBe(true);
    }
    for (const address of ["10.0.0.7", "172.17.0.1", "::ffff:192.168.1.2", "fe80::1"]) {
      expect(isLoopback(address)).toBe(false);
    }
  });

  // Every test connects from loopback, so the server here trusts 127.0.0.2 alone: a caller
  // from 127.0.0.1 then stands for one from another machine, over a real socket.
  it("answers a trusted peer, and anyone else only with the admin token", async () => {
    const demo = await start({ isTrustedAddress: (address) => address === "127.0.0.2" });
    expect(await getStatus(demo.port, { from: "127.0.0.2" })).toBe(200);
    expect(await getStatus(demo.port, { from: "127.0.0.1" })).toBe(403);
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    expect(await getStatus(demo.port, { headers: bearer(ADMIN_TOKEN) })).toBe(200);
    expect(await getStatus(demo.port, { headers: bearer(`${ADMIN_TOKEN}x`) })).toBe(403);
    expect(await getStatus(demo.port, { headers: { authorization: ADMIN_TOKEN } })).toBe(403);
  });

  it("without LIFELINE_ADMIN_TOKEN, answers the trusted peer alone, whatever else is sent", async () => {
    const demo = await start({
      isTrustedAddress: (address) => address === "127.0.0.2",
      adminToken: null,
    });
    expect(await getStatus(demo.port, { from: "127.0.0.2" })).toBe(200);
    for (const authorization of ["Bearer undefined", "Bearer ", "Bearer null", ADMIN_TOKEN]) {
      expect(await getStatus(demo.port, { headers: { authorization } }), authorization).toBe(403);
    }
    expect(await getStatus(demo.port)).toBe(403);
  });

  it("judges the socket's address, not a forwarded-for header", async () => {
    const demo = await start({ isTrustedAddress: (address) => address === "127.0.0.2" });
    const forwarded = { "x-forwarded-for": "127.0.0.2", forwarded: "for=127.0.0.2" };
    expect(await getStatus(demo.port, { headers: forwarded })).toBe(403);
  });
});

describe("LIFELINE_ADMIN_TOKEN", () => {
  it("must be long enough not to be guessed", () => {
    expect(() => parseConfig({ LIFELINE_ADMIN_TOKEN: "short" })).toThrow(
      /LIFELINE_ADMIN_TOKEN must be at least 16 characters, got 5/,
    );
    expect(parseConfig({ LIFELINE_ADMIN_TOKEN: ADMIN_TOKEN }).adminToken).toBe(ADMIN_TOKEN);
    expect(parseConfig({}).adminToken).toBeUndefined();
  });
});
