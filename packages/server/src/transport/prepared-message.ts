import type { ServerMessage } from "@lifeline/protocol";
import { encodeMessagePack } from "@lifeline/protocol/msgpack";
import type { LogEntry } from "../broker.js";
import { binaryFrame, PING_FRAME, textFrame } from "./frames.js";
import { toJsonText } from "./json-text.js";

/**
 * A server message ready to be written to any number of connections, whatever their wire:
 * each encoding (JSON text, WebSocket text frame, MessagePack bytes and binary frame, SSE
 * event) is made on first use and kept, so a broadcast costs one encoding per wire in use,
 * not one per recipient. Built from the message object, or from its JSON text when the text
 * is what the caller has (the MessagePack encoding then parses it once: JSON text holds no
 * bytes, so nothing is lost).
 */
export class PreparedMessage {
  /** A WebSocket ping frame goes out first: the heartbeat's two frames (`prepareHeartbeat`). */
  readonly pingFirst: boolean;
  /** How many times each encoding ran (at most once; read by tests and diagnostics). */
  jsonEncodes = 0;
  msgpackEncodes = 0;
  sseEncodes = 0;
  private readonly value: unknown;
  private json: string | undefined;
  private jsonBytes = -1;
  private wsText: Buffer | undefined;
  private packed: Uint8Array | undefined;
  private wsBinary: Buffer | undefined;
  private sse: Buffer | undefined;
  /** Why encoding failed: kept so that each recipient does not try again. */
  private error: unknown;

  constructor(value: unknown, text?: string, pingFirst = false) {
    this.value = value;
    this.json = text;
    this.pingFirst = pingFirst;
  }

  /** The JSON text (PROTOCOL.md; bytes as base64, see `toJsonText`). */
  get text(): string {
    if (this.json === undefined) {
      this.checkFailure();
      try {
        this.json = toJsonText(this.value);
      } catch (error) {
        this.error = error;
        throw error;
      }
      this.jsonEncodes += 1;
    }
    return this.json;
  }

  /** UTF-8 size of `text`. */
  get textBytes(): number {
    if (this.jsonBytes < 0) this.jsonBytes = Buffer.byteLength(this.text);
    return this.jsonBytes;
  }

  /** `text` as one WebSocket text frame (after the ping frame, for a heartbeat). */
  get textFrame(): Buffer {
    this.wsText ??= textFrame(this.text, this.textBytes, this.pingFirst ? PING_FRAME : undefined);
    return this.wsText;
  }

  /** The MessagePack encoding (`@lifeline/protocol/msgpack`). */
  get msgpack(): Uint8Array {
    if (this.packed === undefined) {
      this.checkFailure();
      try {
        const message = this.value ?? JSON.parse(this.json as string);
        this.packed = encodeMessagePack(message as ServerMessage);
      } catch (error) {
        this.error = error;
        throw error;
      }
      this.msgpackEncodes += 1;
    }
    return this.packed;
  }

  /** `msgpack` as one WebSocket binary frame (after the ping frame, for a heartbeat). */
  get binaryFrame(): Buffer {
    this.wsBinary ??= binaryFrame(this.msgpack, this.pingFirst ? PING_FRAME : undefined);
    return this.wsBinary;
  }

  /** The message as one server-sent event: `data: <json>\n\n` (JSON text has no raw newline). */
  get sseEvent(): Buffer {
    if (this.sse === undefined) {
      this.sse = Buffer.from(`data: ${this.text}\n\n`);
      this.sseEncodes += 1;
    }
    return this.sse;
  }

  /** The error the message could not be encoded with, once an encoding failed. */
  get failure(): unknown {
    return this.error;
  }

  /** A message that failed to encode fails again at once for every later recipient. */
  private checkFailure(): void {
    if (this.error !== undefined) throw this.error;
  }
}

/** A message whose JSON text is already written (a fast path built it without an object). */
export function prepareMessage(text: string): PreparedMessage {
  return new PreparedMessage(undefined, text);
}

/** A message object, encoded on first use by each wire. */
export function prepareObject(message: ServerMessage): PreparedMessage {
  return new PreparedMessage(message);
}

/**
 * The heartbeat of PROTOCOL.md ("Liveness"): a WebSocket ping frame and an application
 * `{"type":"ping"}` prepared as one buffer, so each connection's heartbeat is one kernel
 * write instead of two (with 10,000 idle connections, the heartbeat is most of what the
 * server does). Without `frame`, the application ping alone: for a client that has shown it
 * answers `pong`, whose ping frame would only draw a second answer to read.
 */
export function prepareHeartbeat(frame = true): PreparedMessage {
  return new PreparedMessage({ type: "ping" }, '{"type":"ping"}', frame);
}

/**
 * A log entry as a `message`, prepared once for all its recipients; `conflated` marks the
 * latest entry of its key sent in place of the ones before it (PROTOCOL.md, "Conflation").
 */
export function prepareEntry(entry: LogEntry, conflated = false): PreparedMessage {
  return new PreparedMessage({
    type: "message",
    topic: entry.topic,
    offset: entry.offset,
    epoch: entry.epoch,
    // A message must carry `data` (PROTOCOL.md): JSON would drop an undefined one.
    data: entry.data === undefined ? null : entry.data,
    ts: entry.ts,
    ...(conflated ? { conflated: true } : {}),
  });
}
