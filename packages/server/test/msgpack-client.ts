import { type Message, within } from "@lifeline/test-support";
import { decode, encode } from "@msgpack/msgpack";
import { WebSocket } from "ws";

/**
 * A raw client of the MessagePack wire, written against `@msgpack/msgpack` directly (not
 * the protocol package's codec) as a peer in another language would: binary frames are
 * decoded into messages; a text frame is parsed as JSON and marked `textFrame: true`, so a
 * test can see which wire it came on.
 */
export interface PackClient {
  readonly ws: WebSocket;
  readonly received: Message[];
  next(predicate?: (message: Message) => boolean, label?: string): Promise<Message>;
  /** Sends `message` MessagePack-encoded in one binary frame. */
  send(message: unknown): void;
  /** Sends bytes or text as they are. */
  sendRaw(data: Buffer | string): void;
  close(): Promise<void>;
}

export async function openPackClient(
  server: { readonly port: number },
  clientId: string,
  protocols: string[] = ["lifeline.v1.msgpack", "lifeline.v1"],
): Promise<PackClient & { hello: Message }> {
  const url = `ws://127.0.0.1:${server.port}/ws?client_id=${clientId}&version=1&role=test`;
  const ws = new WebSocket(url, protocols);
  const received: Message[] = [];
  const taken = new Set<number>();
  const waiters = new Set<{ predicate: (m: Message) => boolean; resolve: (m: Message) => void }>();
  ws.on("error", () => {});
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    const message = isBinary ? (decode(data) as Message) : textMessage(data.toString());
    const index = received.push(message) - 1;
    for (const waiter of waiters) {
      if (waiter.predicate(message)) {
        waiters.delete(waiter);
        taken.add(index);
        waiter.resolve(message);
        return;
      }
    }
  });
  const closed = new Promise<void>((resolve) => ws.on("close", () => resolve()));
  const client: PackClient = {
    ws,
    received,
    next(predicate = () => true, label = "a message") {
      const index = received.findIndex((m, i) => !taken.has(i) && predicate(m));
      if (index >= 0) {
        taken.add(index);
        return Promise.resolve(received[index] as Message);
      }
      let waiter: { predicate: (m: Message) => boolean; resolve: (m: Message) => void };
      const arrived = new Promise<Message>((resolve) => {
        waiter = { predicate, resolve };
        waiters.add(waiter);
      });
      return within(arrived, label, 5000).finally(() => waiters.delete(waiter));
    },
    send(message) {
      ws.send(encode(message, { ignoreUndefined: true }));
    },
    sendRaw(data) {
      ws.send(data);
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await within(closed, "client close");
    },
  };
  const hello = await client.next((m) => m.type === "hello", "hello");
  return Object.assign(client, { hello });
}

function textMessage(text: string): Message {
  try {
    return { ...(JSON.parse(text) as Message), textFrame: true };
  } catch {
    return { text, textFrame: true };
  }
}

/** Bytes as a plain Uint8Array (a decoder may hand out Buffer views), to compare them. */
export function plainBytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`expected bytes, got ${typeof value}`);
  return new Uint8Array(value);
}
