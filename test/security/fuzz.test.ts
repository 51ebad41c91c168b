import { connect } from "node:net";
import { parseClientMessage } from "@lifeline/protocol";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bystander, startBystander } from "./support/bystander.js";
import { Opcode, type RawConnection, rawConnect } from "./support/raw-socket.js";
import { httpGet, startServer, type TestServer } from "./support/server.js";

// docs/reliability.md, "Bad input and attackers" (Fuzzing of the server over real sockets): whatever arrives, the server does not
// crash, a bystander on another connection notices nothing, and each bad message gets the
// answer PROTOCOL.md "Errors and invalid input" documents: one `error` (or a failed
// `response` when it carried a usable id) with `invalid_message` or `unknown_type`, the
// connection staying open; invalid UTF-8 fails the connection with 1007 (RFC 6455 8.1).

const MAX_PAYLOAD = 256 * 1024;
/** What the garbage-frame property records when the server is still reading a partial frame. */
const STILL_WAITING = -1;
/**
 * How the server may end a connection that sent garbage frames (RFC 6455 7.4.1): our own
 * close echoed (1000), a protocol error (1002), invalid UTF-8 (1007), a frame over
 * `maxPayload` (1009), or not at all yet, while a frame it cannot yet see the end of is
 * incomplete.
 */
const GARBAGE_FRAME_CLOSES = [1000, 1002, 1007, 1009, STILL_WAITING];
const RUNS = 150;
const SEED = 20261124;

let t: TestServer;
let bystander: Bystander;
let fuzzer: RawConnection | undefined;
let opened = 0;
const answers = { error: 0, failedResponse: 0, ok: 0, closes: new Map<number, number>() };

beforeAll(async () => {
  t = await startServer({
    logger: false,
    limits: {
      maxPayload: MAX_PAYLOAD,
      // The fuzzer sends only bad input, fast: no rate limit or abuse close in its way.
      rate: { perSecond: 1_000_000, burst: 1_000_000 },
      abuse: { maxViolations: 1_000_000, windowMs: 1000 },
    },
  });
  bystander = await startBystander(t.server, t.url);
});

afterAll(async () => {
  fuzzer?.destroy();
  bystander?.close();
  await t?.close();
  console.info(
    `[security] fuzz: connections=${opened} errors=${answers.error} failed_responses=${answers.failedResponse} ok_answers=${answers.ok} closes=${JSON.stringify(Object.fromEntries(answers.closes))}`,
  );
});

/** The fuzzing connection, reopened when an input legitimately closed it. */
async function connection(): Promise<RawConnection> {
  if (fuzzer && !fuzzer.socket.destroyed) return fuzzer;
  opened += 1;
  fuzzer = await rawConnect({
    port: t.port,
    path: `/ws?client_id=fuzzer-${opened}&version=1&role=test`,
  });
  await fuzzer.next((m) => m.type === "hello");
  return fuzzer;
}

let sentinel = 0;

/**
 * Sends `text` and a `ping` sentinel; returns what arrived in between. Bad input is answered
 * synchronously, so its answer always precedes the sentinel's `pong`.
 */
async function exchange(
  send: (c: RawConnection) => void,
): Promise<{ got: Record<string, unknown>[]; from: number }> {
  const c = await connection();
  const from = c.messages.length;
  send(c);
  sentinel += 1;
  const marker = `sentinel-${sentinel}`;
  c.send(JSON.stringify({ type: "request", id: marker, method: "__sentinel__" }));
  await c.next((m) => m.id === marker, 5000, from);
  const between = c.messages.slice(from) as Record<string, unknown>[];
  // Topic messages and heartbeats are not answers to the input.
  const got = between.filter((m) => m.id !== marker && m.type !== "message" && m.type !== "ping");
  return { got, from };
}

/** Checks the answers to one text frame against what the protocol's own codec says of it. */
async function checkText(text: string): Promise<void> {
  const expected = parseClientMessage(text, { maxChars: MAX_PAYLOAD });
  const { got, from } = await exchange((c) => c.send(text));
  if (!expected.ok) {
    expect(got, `answers to ${JSON.stringify(text.slice(0, 200))}`).toHaveLength(1);
    const answer = got[0] as Record<string, unknown>;
    const body = (answer.type === "error" ? answer : answer.error) as {
      code: string;
      message: string;
    };
    expect(["invalid_message", "unknown_type"]).toContain(body.code);
    expect(body.code).toBe(expected.error.code);
    expect(typeof body.message).toBe("string");
    if (expected.error.id !== undefined) {
      expect(answer).toMatchObject({ type: "response", id: expected.error.id, ok: false });
      answers.failedResponse += 1;
    } else {
      expect(answer.type).toBe("error");
      answers.error += 1;
    }
    return;
  }
  const message = expected.message;
  if (message.type === "ping") {
    expect(got.filter((m) => m.type === "pong")).toHaveLength(1);
    answers.ok += 1;
    return;
  }
  if (message.type === "pong") {
    expect(got).toHaveLength(0);
    return;
  }
  // Valid messages are answered asynchronously (broker, handlers): wait for their id.
  const c = await connection();
  const answer = await c.next((m) => m.id === message.id, 5000, from);
  expect(["subscribed", "unsubscribed", "response"]).toContain(answer.type);
  answers.ok += 1;
}

const validTemplates = fc.oneof(
  fc.record({
    type: fc.constant("subscribe"),
    id: fc.string({ minLength: 1, maxLength: 20 }),
    topic: fc.constantFrom("a", "fuzz/x", "t.1:2@3-4_5"),
  }),
  fc.record({
    type: fc.constant("publish"),
    id: fc.string({ minLength: 1, maxLength: 20 }),
    topic: fc.constant("fuzz/pub"),
    data: fc.jsonValue({ maxDepth: 3 }),
  }),
  fc.record({
    type: fc.constant("request"),
    id: fc.string({ minLength: 1, maxLength: 20 }),
    method: fc.string({ minLength: 1, maxLength: 10 }),
    params: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({
    type: fc.constant("subscribe"),
    id: fc.string({ minLength: 1, maxLength: 10 }),
    topic: fc.constant("fuzz/since"),
    since: fc.record({
      offset: fc.integer({ min: -5, max: 100 }),
      epoch: fc.string({ maxLength: 70 }),
    }),
  }),
  fc.record({ type: fc.constantFrom("ping", "pong") }),
);

/** A valid message with one thing changed: a field dropped, retyped, added, or the type. */
const mutated = fc
  .tuple(
    validTemplates,
    fc.oneof(
      fc.record({ kind: fc.constant("drop" as const), index: fc.nat() }),
      fc.record({
        kind: fc.constant("retype" as const),
        index: fc.nat(),
        value: fc.jsonValue({ maxDepth: 2 }),
      }),
      fc.record({
        kind: fc.constant("add" as const),
        key: fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.constantFrom("__proto__", "constructor", "prototype"),
        ),
        value: fc.jsonValue({ maxDepth: 2 }),
      }),
      fc.record({
        kind: fc.constant("type" as const),
        value: fc.oneof(fc.string({ maxLength: 12 }), fc.jsonValue()),
      }),
    ),
  )
  .map(([template, mutation]) => {
    const message: Record<string, unknown> = { ...template };
    const keys = Object.keys(message);
    switch (mutation.kind) {
      case "drop":
        delete message[keys[mutation.index % keys.length] as string];
        break;
      case "retype":
        message[keys[mutation.index % keys.length] as string] = mutation.value;
        break;
      case "add":
        // defineProperty, so a "__proto__" key becomes an own JSON key, not the prototype.
        Object.defineProperty(message, mutation.key, { value: mutation.value, enumerable: true });
        break;
      case "type":
        message.type = mutation.value;
        break;
    }
    return JSON.stringify(message);
  });

describe("fuzzing the server over a real socket", () => {
  it("answers random text with the documented error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 200 }), (text) => checkText(text)),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("answers random JSON with the documented error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ maxDepth: 4 }), (text) => checkText(text)),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("answers mutated valid messages (incl. __proto__ and constructor keys) as the codec says", async () => {
    await fc.assert(
      fc.asyncProperty(mutated, (text) => checkText(text)),
      { numRuns: RUNS * 2, seed: SEED },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, "type")).toBe(false);
  });

  it("answers valid messages carrying huge strings and deeply nested data", async () => {
    const huge = fc.integer({ min: 1000, max: MAX_PAYLOAD / 2 }).map((n) => "h".repeat(n));
    const deep = fc
      .integer({ min: 100, max: 20_000 })
      .map((depth) => "[".repeat(depth) + "]".repeat(depth));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          huge.map((s) => JSON.stringify({ type: "subscribe", id: "h", topic: s })),
          huge.map((s) =>
            JSON.stringify({ type: "publish", id: s.slice(0, 100), topic: "fuzz/huge", data: s }),
          ),
          huge.map((s) => JSON.stringify({ type: s.slice(0, 5000) })),
          deep.map((d) => `{"type":"publish","id":"deep","topic":"fuzz/deep","data":${d}}`),
          deep.map((d) => `{"type":"ping","extra":${d}}`),
          deep.map((d) => d),
        ),
        (text) => checkText(text),
      ),
      { numRuns: 40, seed: SEED },
    );
  });

  it("answers binary frames with invalid_message and keeps the connection", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const { got } = await exchange((c) =>
          c.send(Buffer.from(bytes), { opcode: Opcode.Binary }),
        );
        expect(got).toHaveLength(1);
        expect(got[0]).toMatchObject({ type: "error", code: "invalid_message" });
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("fails the connection with 1007 on invalid UTF-8 in a text frame", async () => {
    const invalid = fc.constantFrom(
      Buffer.from([0xc3, 0x28]),
      Buffer.from([0xff, 0xfe, 0xfd]),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('{"type":"ping","x":"\xff"}', "latin1"),
      Buffer.from([0xf4, 0x90, 0x80, 0x80]),
    );
    await fc.assert(
      fc.asyncProperty(invalid, async (bytes) => {
        const c = await connection();
        c.send(bytes);
        const closed = await c.closed;
        answers.closes.set(closed.code, (answers.closes.get(closed.code) ?? 0) + 1);
        expect(closed.code).toBe(1007);
        c.destroy();
      }),
      { numRuns: 10, seed: SEED },
    );
  });

  it("survives random bytes after the handshake (garbage frames)", async () => {
    const own = await startBystander(t.server, t.url, "bystander-garbage-frames");
    const codes = new Map<number, number>();
    try {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), async (bytes) => {
          const c = await connection();
          c.sendRaw(Buffer.from(bytes));
          // A partial frame may simply wait for more bytes: end it with a close of our own.
          c.send(Buffer.from([0x03, 0xe8]), { opcode: Opcode.Close });
          const closed = await Promise.race([
            c.closed,
            new Promise<{ code: number }>((resolve) =>
              setTimeout(() => resolve({ code: STILL_WAITING }), 1000),
            ),
          ]);
          codes.set(closed.code, (codes.get(closed.code) ?? 0) + 1);
          answers.closes.set(closed.code, (answers.closes.get(closed.code) ?? 0) + 1);
          c.destroy();
          expect(
            GARBAGE_FRAME_CLOSES,
            `close after ${Buffer.from(bytes).toString("hex")}`,
          ).toContain(closed.code);
        }),
        { numRuns: 60, seed: SEED },
      );
      console.info(
        `[security] garbage frames: closes=${JSON.stringify(Object.fromEntries(codes))}`,
      );
      await own.check();
    } finally {
      own.close();
    }
  });

  it("survives random bytes instead of an HTTP request", async () => {
    const own = await startBystander(t.server, t.url, "bystander-garbage-http");
    try {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
          const reply = await new Promise<string>((resolve) => {
            let received = "";
            const socket = connect({ port: t.port, host: "127.0.0.1" });
            socket.on("error", () => {});
            socket.on("data", (chunk: Buffer) => {
              received += chunk.toString("latin1");
            });
            socket.on("close", () => resolve(received));
            socket.write(Buffer.from(bytes));
            socket.end();
            setTimeout(() => socket.destroy(), 2000).unref();
          });
          // Bytes that are no HTTP request end in the server's clientError handler, which
          // drops the socket without a word: no answer may leak anything about the server.
          expect(reply, `reply to ${Buffer.from(bytes).toString("hex")}`).toBe("");
        }),
        { numRuns: 60, seed: SEED },
      );
      await own.check();
    } finally {
      own.close();
    }
  });

  it("answers random handshake query values with hello, 4400 or 4401", async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 140 }),
      fc.constantFrom(
        "",
        "1",
        "0",
        "2",
        "frontend",
        "admin",
        "test",
        "../",
        "%00",
        "a".repeat(129),
      ),
    );
    await fc.assert(
      fc.asyncProperty(value, value, value, async (clientId, version, role) => {
        const query = new URLSearchParams({ client_id: clientId, version, role });
        const c = await rawConnect({ port: t.port, path: `/ws?${query}` });
        try {
          expect(c.status).toBe(101);
          const outcome = await Promise.race([
            c.next((m) => m.type === "hello").then(() => "hello"),
            c.closed.then((closed) => closed.code),
          ]);
          expect(["hello", 4400, 4401]).toContain(outcome);
          if (outcome === "hello") {
            expect(version).toBe("1");
            expect(["frontend", "admin", "test"]).toContain(role);
          }
        } finally {
          c.destroy();
        }
      }),
      { numRuns: 100, seed: SEED },
    );
  });

  it("is still healthy and the bystander never noticed", async () => {
    await bystander.check();
    const health = await httpGet(t.port, "/health");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok" });
  });
});
