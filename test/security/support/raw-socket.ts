import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { inflateRawSync } from "node:zlib";

/**
 * A WebSocket client written on a bare TCP socket, so a test can send what no well-behaved
 * library would: invalid UTF-8 in a text frame, reserved bits, compressed frames that
 * inflate to gigabytes, unmasked frames, thousands of headers.
 */

export const Opcode = { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

export interface Frame {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

export interface FrameOptions {
  readonly opcode?: number;
  /** @default true */
  readonly fin?: boolean;
  /** Per-message-compressed bit (RFC 7692). @default false */
  readonly rsv1?: boolean;
  /** Clients must mask (RFC 6455 5.3). @default true */
  readonly mask?: boolean;
}

/** Encodes one frame as a client would send it. */
export function encodeFrame(payload: Buffer | string, options: FrameOptions = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const masked = options.mask ?? true;
  const first =
    ((options.fin ?? true) ? 0x80 : 0) |
    (options.rsv1 ? 0x40 : 0) |
    (options.opcode ?? Opcode.Text);
  let header: Buffer;
  if (data.length < 126) {
    header = Buffer.from([first, (masked ? 0x80 : 0) | data.length]);
  } else if (data.length < 65_536) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = (masked ? 0x80 : 0) | 126;
    header.writeUInt16BE(data.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = (masked ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  if (!masked) return Buffer.concat([header, data]);
  const key = randomBytes(4);
  const body = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i += 1) body[i] = (data[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([header, key, body]);
}

/** Parses complete server frames off the front of `buffer`; returns them and the rest. */
function decodeFrames(buffer: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let at = 0;
  for (;;) {
    if (buffer.length - at < 2) break;
    const b0 = buffer[at] as number;
    const b1 = buffer[at + 1] as number;
    let length = b1 & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (buffer.length - at < 4) break;
      length = buffer.readUInt16BE(at + 2);
      offset = at + 4;
    } else if (length === 127) {
      if (buffer.length - at < 10) break;
      length = Number(buffer.readBigUInt64BE(at + 2));
      offset = at + 10;
    }
    if (buffer.length < offset + length) break;
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      opcode: b0 & 0x0f,
      payload: buffer.subarray(offset, offset + length),
    });
    at = offset + length;
  }
  return { frames, rest: buffer.subarray(at) };
}

export interface RawConnection {
  readonly socket: Socket;
  /** The HTTP status of the upgrade answer (101 when upgraded). */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Text of a refusal's body (not upgraded). */
  readonly body: string;
  /** Text frames received so far, parsed as JSON. */
  readonly messages: unknown[];
  send(payload: Buffer | string, options?: FrameOptions): void;
  sendRaw(bytes: Buffer): void;
  /**
   * Resolves with the first message `predicate` accepts among those received from index
   * `from` on (default: all, past and future).
   */
  next(
    predicate: (message: Record<string, unknown>) => boolean,
    timeoutMs?: number,
    from?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the close frame's code (1006 when the socket ended without one). */
  readonly closed: Promise<{ code: number; reason: string }>;
  destroy(): void;
}

export interface RawConnectOptions {
  readonly port: number;
  readonly host?: string;
  /** Request target. @default "/ws?client_id=raw&version=1&role=test" */
  readonly path?: string;
  /** Extra header lines, e.g. `["Origin: https://evil.example"]`. */
  readonly headers?: readonly string[];
  /** Offer permessage-deflate. @default false */
  readonly deflate?: boolean;
  readonly timeoutMs?: number;
}

/** Opens a TCP connection, sends the upgrade request and waits for the answer. */
export function rawConnect(options: RawConnectOptions): Promise<RawConnection> {
  const host = options.host ?? "127.0.0.1";
  const key = randomBytes(16).toString("base64");
  const socket = connect({ host, port: options.port });
  socket.setNoDelay(true);
  const request = [
    `GET ${options.path ?? "/ws?client_id=raw&version=1&role=test"} HTTP/1.1`,
    `Host: ${host}:${options.port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Protocol: lifeline.v1",
    // Without context takeover every compressed message inflates on its own.
    ...(options.deflate
      ? ["Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"]
      : []),
    ...(options.headers ?? []),
    "",
    "",
  ].join("\r\n");
  const expectedAccept = createHash("sha1")
    .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
    .digest("base64");

  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    const messages: unknown[] = [];
    const waiters = new Set<{
      predicate: (m: Record<string, unknown>) => boolean;
      resolve: (m: Record<string, unknown>) => void;
    }>();
    let closeInfo: { code: number; reason: string } | undefined;
    let resolveClosed!: (info: { code: number; reason: string }) => void;
    const closed = new Promise<{ code: number; reason: string }>((r) => {
      resolveClosed = r;
    });
    const timer = setTimeout(
      () => fail(new Error(`no upgrade answer within ${options.timeoutMs ?? 5000} ms`)),
      options.timeoutMs ?? 5000,
    );
    let settled = false;
    function fail(error: Error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    }

    const connection = (
      status: number,
      headers: Record<string, string>,
      body: string,
    ): RawConnection => ({
      socket,
      status,
      headers,
      body,
      messages,
      send(payload, frameOptions) {
        if (!socket.destroyed) socket.write(encodeFrame(payload, frameOptions));
      },
      sendRaw(bytes) {
        if (!socket.destroyed) socket.write(bytes);
      },
      next(predicate, timeoutMs = 5000, from = 0) {
        const found = messages.slice(from).find((m) => predicate(m as Record<string, unknown>));
        if (found) return Promise.resolve(found as Record<string, unknown>);
        return new Promise((res, rej) => {
          const waiter = {
            predicate,
            resolve: (m: Record<string, unknown>) => {
              clearTimeout(t);
              res(m);
            },
          };
          const t = setTimeout(() => {
            waiters.delete(waiter);
            rej(
              new Error(
                `no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages.slice(-3))}`,
              ),
            );
          }, timeoutMs);
          waiters.add(waiter);
        });
      },
      closed,
      destroy() {
        socket.destroy();
      },
    });

    const onFrames = () => {
      const { frames, rest } = decodeFrames(buffer);
      buffer = Buffer.from(rest);
      for (const frame of frames) {
        if (frame.opcode === Opcode.Text) {
          let message: unknown;
          try {
            const payload = frame.rsv1
              ? inflateRawSync(Buffer.concat([frame.payload, Buffer.from([0, 0, 0xff, 0xff])]))
              : frame.payload;
            message = JSON.parse(payload.toString("utf8"));
          } catch {
            message = { unparsable: frame.payload.toString("utf8") };
          }
          messages.push(message);
          for (const waiter of [...waiters]) {
            if (waiter.predicate(message as Record<string, unknown>)) {
              waiters.delete(waiter);
              waiter.resolve(message as Record<string, unknown>);
            }
          }
        } else if (frame.opcode === Opcode.Close && !closeInfo) {
          const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
          closeInfo = { code, reason: frame.payload.subarray(2).toString("utf8") };
          resolveClosed(closeInfo);
        } else if (frame.opcode === Opcode.Ping) {
          socket.write(encodeFrame(frame.payload, { opcode: Opcode.Pong }));
        }
      }
    };

    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString("latin1").split("\r\n");
        const status = Number(head[0]?.split(" ")[1] ?? 0);
        const headers: Record<string, string> = {};
        for (const line of head.slice(1)) {
          const colon = line.indexOf(":");
          if (colon > 0)
            headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        buffer = Buffer.from(buffer.subarray(end + 4));
        upgraded = true;
        if (status !== 101) {
          settled = true;
          clearTimeout(timer);
          socket.once("close", () => resolveClosed({ code: 1006, reason: "" }));
          // The refusal's body is short and arrives with the head in practice.
          resolve(connection(status, headers, buffer.toString("utf8")));
          return;
        }
        if (headers["sec-websocket-accept"] !== expectedAccept) {
          fail(new Error("bad Sec-WebSocket-Accept"));
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(connection(status, headers, ""));
      }
      onFrames();
    });
    socket.on("error", () => {});
    socket.write(request);
    socket.on("close", () => {
      if (!closeInfo) {
        closeInfo = { code: 1006, reason: "" };
        resolveClosed(closeInfo);
      }
      fail(new Error("the socket closed before the upgrade answer"));
    });
  });
}
