import { SUBPROTOCOL } from "@lifeline/protocol";
import { describe, expect, it } from "vitest";
import { openConnection } from "../../src/transport/connection.js";
import type { WebSocketLike } from "../../src/transport/socket.js";
import type { Transport } from "../../src/transport/transport.js";
import { webSocketTransport } from "../../src/transport/websocket.js";
import { FakeSocket } from "../helpers/fake-socket.js";
import { ManualClock } from "../helpers/manual-clock.js";

/** A socket that keeps every frame as given, text or bytes. */
class RecordingSocket extends FakeSocket {
  readonly frames: Array<string | Uint8Array> = [];
  override send(data: string | Uint8Array): void {
    if (this.readyState !== 1) throw new Error("not open");
    this.frames.push(data);
  }
}

function open(transport: Transport, onHello: () => void = () => {}) {
  return openConnection({
    url: "ws://127.0.0.1:1/ws?client_id=c",
    transport,
    clock: new ManualClock(),
    connectTimeoutMs: 1000,
    helloTimeoutMs: 1000,
    maxMessageChars: 1024,
    handlers: {
      onHello,
      onMessage: () => {},
      onFrame: () => {},
      onInvalid: () => {},
      onEnd: () => {},
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

  it("hands text and bytes to the socket unchanged", () => {
    const socket = new RecordingSocket("ws://127.0.0.1:1/ws?client_id=c");
    const connection = open({ name: "websocket", open: () => socket });
    const bytes = new Uint8Array([0x81, 0xa4, 0x74]);
    expect(connection.send("before open")).toBe(false);
    socket.accept();
    expect(connection.send('{"type":"ping"}')).toBe(true);
    expect(connection.send(bytes)).toBe(true);
    expect(socket.frames).toEqual(['{"type":"ping"}', bytes]);
    expect(socket.frames[1]).toBe(bytes);
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
