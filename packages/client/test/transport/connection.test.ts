import { MSGPACK_SUBPROTOCOL, SUBPROTOCOL } from "@lifeline/protocol";
import { encodeMessagePack } from "@lifeline/protocol/msgpack";
import { describe, expect, it } from "vitest";
import { type CodecSet, codecLoader } from "../../src/transport/codec.js";
import { type ConnectionEnd, openConnection } from "../../src/transport/connection.js";
import type { WebSocketLike } from "../../src/transport/socket.js";
import type { Transport } from "../../src/transport/transport.js";
import { webSocketTransport } from "../../src/transport/websocket.js";
import { FakeSocket } from "../helpers/fake-socket.js";
import { ManualClock } from "../helpers/manual-clock.js";

/** A socket that keeps every frame as given, text or bytes. */
class RecordingSocket extends FakeSocket {
  readonly frames: Array<string | Uint8Array> = [];
  protocol = "";
  binaryType = "blob";
  override send(data: string | Uint8Array): void {
    if (this.readyState !== 1) throw new Error("not open");
    this.frames.push(data);
  }
}

const jsonOnly = await codecLoader("json", 1024)();
const withMessagePack = await codecLoader("msgpack", 1024)();

function open(
  transport: Transport,
  onHello: () => void = () => {},
  codecs: CodecSet = jsonOnly,
  onEnd: (end: ConnectionEnd) => void = () => {},
) {
  return openConnection({
    url: "ws://127.0.0.1:1/ws?client_id=c",
    transport,
    protocols: [SUBPROTOCOL],
    codecs,
    clock: new ManualClock(),
    connectTimeoutMs: 1000,
    helloTimeoutMs: 1000,
    maxMessageChars: 1024,
    handlers: {
      onHello,
      onMessage: () => {},
      onFrame: () => {},
      onInvalid: () => {},
      onEnd,
    },
  });
}

describe("the transport seam", () => {
  it("opens each connection through the transport, offering the subprotocol", () => {
    const opened: Array<{ url: string; protocols: readonly string[] }> = [];
    const socket = new RecordingSocket("ws://127.0.0.1:1/ws?client_id=c");
    const transport: Transport = {
      name: "websocket",
      open(url, protocols): WebSocketLike {
        opened.push({ url, protocols });
        return socket;
      },
    };
    let greeted = 0;
    const connection = open(transport, () => {
      greeted += 1;
    });
    expect(opened).toEqual([{ url: "ws://127.0.0.1:1/ws?client_id=c", protocols: [SUBPROTOCOL] }]);
    socket.accept();
    expect(greeted).toBe(1);
    expect(connection.greeted).toBe(true);
  });

  it("sends JSON text on a connection the server answered with the JSON subprotocol", () => {
    const socket = new RecordingSocket("ws://127.0.0.1:1/ws?client_id=c");
    const connection = open({ name: "websocket", open: () => socket }, () => {}, withMessagePack);
    expect(socket.binaryType).toBe("arraybuffer");
    expect(connection.send({ type: "ping" })).toBe(false);
    socket.protocol = SUBPROTOCOL;
    socket.accept();
    expect(connection.codec).toBe("json");
    expect(connection.send({ type: "ping" })).toBe(true);
    expect(socket.frames).toEqual(['{"type":"ping"}']);
    // A client that asked for MessagePack is told binary data cannot go over JSON.
    expect(() =>
      connection.send({ type: "publish", id: "p", topic: "t", data: new Uint8Array(2) }),
    ).toThrow(/uses JSON/);
  });

  it("speaks MessagePack both ways once the server picked its subprotocol", () => {
    const socket = new RecordingSocket("ws://127.0.0.1:1/ws?client_id=c");
    let hello = 0;
    const connection = open(
      { name: "websocket", open: () => socket },
      () => {
        hello += 1;
      },
      withMessagePack,
    );
    socket.protocol = MSGPACK_SUBPROTOCOL;
    socket.open();
    socket.onmessage?.({
      data: encodeMessagePack({
        type: "hello",
        server_time: new Date(0).toISOString(),
        accepted_version: 1,
        features: ["msgpack"],
        request_id: "r",
        client_id: "c",
        connection_id: "n.1",
        heartbeat_interval_ms: 25_000,
      }).buffer,
    });
    expect(hello).toBe(1);
    expect(connection.codec).toBe("msgpack");
    const data = { blob: new Uint8Array([1, 2, 3]) };
    expect(connection.send({ type: "publish", id: "p", topic: "t", data })).toBe(true);
    const [frame] = socket.frames;
    expect(frame).toBeInstanceOf(Uint8Array);
    expect(frame).toEqual(encodeMessagePack({ type: "publish", id: "p", topic: "t", data }));
  });

  it("reports the HTTP status of a refused upgrade", () => {
    const socket = new RecordingSocket("ws://127.0.0.1:1/ws?client_id=c");
    const ends: ConnectionEnd[] = [];
    open(
      { name: "websocket", open: () => socket },
      () => {},
      jsonOnly,
      (end) => ends.push(end),
    );
    socket.fail("Unexpected server response: 403");
    expect(ends).toMatchObject([{ refusedStatus: 403, greeted: false }]);
    expect(ends[0]?.cause.errorClass).toBe("handshake");
  });

  it("the WebSocket transport constructs the class it was given with the url and protocols", () => {
    const made: FakeSocket[] = [];
    class Recorded extends FakeSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        made.push(this);
      }
    }
    const transport = webSocketTransport(Recorded);
    expect(transport.name).toBe("websocket");
    const socket = transport.open("ws://127.0.0.1:1/ws", [SUBPROTOCOL]);
    expect(made).toEqual([socket]);
    expect(made[0]?.url).toBe("ws://127.0.0.1:1/ws");
    expect(made[0]?.protocols).toEqual([SUBPROTOCOL]);
  });
});
