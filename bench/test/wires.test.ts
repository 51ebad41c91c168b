import { encode } from "@msgpack/msgpack";
import { afterEach, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { startLifelineServer } from "../src/contenders/lifeline.js";
import type { ContenderServer } from "../src/contenders/types.js";
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

describe("the MessagePack wire against a Lifeline server", () => {
  let server: ContenderServer | undefined;
  let ws: WebSocket | undefined;
  afterEach(async () => {
    ws?.terminate();
    await server?.close();
    server = undefined;
  });

  it("handshakes, subscribes and receives a broadcast as one binary frame, counting its bytes", async () => {
    server = await startLifelineServer({ host: "127.0.0.1", port: 0 });
    const driver = wires["lifeline-msgpack"];
    const socket = openConnection(driver, driver.url(server.port, "bench-test"));
    ws = socket;
    await driver.handshake(socket, true);
    expect(socket.protocol).toBe("lifeline.v1.msgpack");
    const before = bytesRead(socket);
    const data = makeData(1, 4096, "telemetry");
    const received = new Promise<{ raw: Buffer; isBinary: boolean }>((resolve) => {
      socket.on("message", (raw: Buffer, isBinary: boolean) => resolve({ raw, isBinary }));
    });
    server.broadcast(data);
    const { raw, isBinary } = await received;
    expect(isBinary).toBe(true);
    expect(driver.dataOf(raw)).toEqual(data);
    // The frame is smaller than the data's JSON text, and every byte of it was counted.
    expect(raw.length).toBeLessThan(JSON.stringify(data).length);
    expect(bytesRead(socket) - before).toBeGreaterThanOrEqual(raw.length);
  });
});
