import { encode } from "@msgpack/msgpack";
import { afterEach, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { startLifelineServer } from "../src/contenders/lifeline.js";
import type { ContenderServer } from "../src/contenders/types.js";
import { SseEventSplitter } from "../src/load/sse-events.js";
import { bytesRead, decodePacked, openConnection, wires } from "../src/load/wires.js";
import { makeData, TOPIC } from "../src/payload.js";

/** Records what a driver sends, in place of a socket. */
function recorder(): { ws: WebSocket; sent: unknown[] } {
  const sent: unknown[] = [];
  return { ws: { send: (data: unknown) => sent.push(data) } as unknown as WebSocket, sent };
}

const frame = (value: unknown): Buffer => Buffer.from(encode(value));

describe("the MessagePack wire's parsing", () => {
  const driver = wires["lifeline-msgpack"];

  it("offers the MessagePack subprotocol on Lifeline's WebSocket path", () => {
    expect(driver.protocols).toEqual(["lifeline.v1.msgpack"]);
    expect(driver.url(1234, "c1")).toBe("ws://127.0.0.1:1234/ws?client_id=c1&version=1&role=test");
  });

  it("reads the data of a message frame, and nothing from other frames", () => {
    const data = makeData(7, 200);
    expect(driver.dataOf(frame({ type: "message", topic: TOPIC, offset: 3, data }))).toEqual(data);
    expect(driver.dataOf(frame({ type: "subscribed", id: "s1", topic: TOPIC }))).toBeUndefined();
    expect(driver.dataOf(Buffer.from("not msgpack \xc1"))).toBeUndefined();
  });

  it("answers a ping with a MessagePack pong and leaves other frames alone", () => {
    const { ws, sent } = recorder();
    expect(driver.control(ws, frame({ type: "ping" }))).toBe(true);
    expect(sent.map((s) => decodePacked(s as Uint8Array))).toEqual([{ type: "pong" }]);
    expect(driver.control(ws, frame({ type: "error", code: "x" }))).toBe(false);
    expect(driver.control(ws, Buffer.from('{"type":"ping"}'))).toBe(false);
    expect(sent).toHaveLength(1);
  });

  it("sends requests as MessagePack and reads the id of their responses", () => {
    const { ws, sent } = recorder();
    driver.sendRequest(ws, 42, { seq: 1 });
    expect(decodePacked(sent[0] as Uint8Array)).toEqual({
      type: "request",
      id: "42",
      method: "echo",
      params: { seq: 1 },
    });
    expect(driver.responseId(frame({ type: "response", id: "42", ok: true, result: 1 }))).toBe(42);
    expect(driver.responseId(frame({ type: "message", id: "42" }))).toBeUndefined();
  });

  it("decodes garbage and scalars to an empty message instead of throwing", () => {
    expect(decodePacked(Uint8Array.of(0xc1))).toEqual({});
    expect(decodePacked(Uint8Array.of(0x92, 0x01))).toEqual({});
    expect(decodePacked(frame(5))).toEqual({});
  });
});

describe("the JSON wires after the move to byte frames", () => {
  it("reads Lifeline's message and ping frames from the bytes received", () => {
    const driver = wires.lifeline;
    const data = makeData(1, 200);
    const text = JSON.stringify({ type: "message", topic: TOPIC, offset: 1, data });
    expect(driver.dataOf(Buffer.from(text))).toEqual(data);
    const { ws, sent } = recorder();
    expect(driver.control(ws, Buffer.from('{"type":"ping"}'))).toBe(true);
    expect(sent).toEqual(['{"type":"pong"}']);
  });

  it("reads socket.io's event and ack packets", () => {
    const driver = wires.socketio;
    const data = makeData(2, 200);
    expect(driver.dataOf(Buffer.from(`42${JSON.stringify(["msg", data])}`))).toEqual(data);
    expect(driver.responseId(Buffer.from('4317[{"seq":1}]'))).toBe(17);
  });
});

describe("Lifeline's wires against a Lifeline server", () => {
  let server: ContenderServer | undefined;
  let ws: WebSocket | undefined;
  afterEach(async () => {
    ws?.terminate();
    await server?.close();
    server = undefined;
  });

  it.each([
    ["lifeline-msgpack", true],
    ["lifeline-sse", false],
  ] as const)(
    "%s handshakes, subscribes and reads a broadcast, counting its bytes",
    async (wire, smaller) => {
      server = await startLifelineServer({ host: "127.0.0.1", port: 0 });
      const driver = wires[wire];
      const socket = openConnection(driver, driver.url(server.port, `bench-${wire}`));
      ws = socket;
      await driver.handshake(socket, true);
      const before = bytesRead(socket);
      const data = makeData(1, 4096, "telemetry");
      const received = new Promise<Buffer>((resolve) => {
        socket.on("message", (raw: Buffer) => resolve(raw));
      });
      server.broadcast(data);
      const raw = await received;
      expect(driver.dataOf(raw)).toEqual(data);
      // MessagePack's frame is smaller than the data's JSON text; every byte of it was counted.
      expect(raw.length < JSON.stringify(data).length).toBe(smaller);
      expect(bytesRead(socket) - before).toBeGreaterThanOrEqual(raw.length);
    },
  );
});

describe("the SSE wire's event parsing", () => {
  function split() {
    const seen: string[] = [];
    const splitter = new SseEventSplitter({
      data: (json) => seen.push(`data ${json.toString()}`),
      close: (code, reason) => seen.push(`close ${code} ${reason}`),
    });
    return { seen, push: (text: string) => splitter.push(Buffer.from(text)) };
  }

  it("cuts message events out of chunks, whatever the chunk boundaries, skipping comments", () => {
    const { seen, push } = split();
    push(':ok\n\ndata: {"type":"hello"}\n\ndata: {"a"');
    expect(seen).toEqual(['data {"type":"hello"}']);
    push(":1}\n");
    push('\ndata: {"b":2}\n\ndata: {"c":3}\n\n');
    expect(seen).toEqual(['data {"type":"hello"}', 'data {"a":1}', 'data {"b":2}', 'data {"c":3}']);
  });

  it("reads the close event's code and reason, and 1006 from one it cannot read", () => {
    const { seen, push } = split();
    push('event: close\ndata: {"code":4409,"reason":"replaced"}\n\n');
    push("event: close\ndata: nope\n\n");
    expect(seen).toEqual(["close 4409 replaced", "close 1006 "]);
  });

  it("reads Lifeline's messages out of the events with the JSON wire's parsing", () => {
    const driver = wires["lifeline-sse"];
    expect(driver.url(80, "c")).toBe("http://127.0.0.1:80/sse?client_id=c&version=1&role=test");
    const data = makeData(3, 200);
    const json = JSON.stringify({ type: "message", topic: TOPIC, offset: 3, data });
    expect(driver.dataOf(Buffer.from(json))).toEqual(data);
  });
});
