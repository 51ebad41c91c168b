import {
  type ClientMessage,
  MSGPACK_SUBPROTOCOL,
  type ParseResult,
  parseServerMessage,
  type ServerMessage,
  SUBPROTOCOL,
} from "@lifeline/protocol";

/**
 * How messages are encoded on a connection (PROTOCOL.md, "Transport and framing"): JSON
 * text frames (`lifeline.v1`), or MessagePack binary frames (`lifeline.v1.msgpack`), which
 * also carry binary `data`. The client asks for a codec; the server's choice of subprotocol
 * decides what a connection uses, so a MessagePack client speaks JSON to a server without
 * MessagePack, and over the SSE fallback, which is JSON only.
 */

/** The codecs a client may ask for. */
export type CodecName = "json" | "msgpack";

export const codecNames: readonly CodecName[] = ["json", "msgpack"];

/** One connection's encoding, chosen from the subprotocol the server picked. */
export interface WireCodec {
  readonly name: CodecName;
  /** The frame for `message`; throws a `TypeError` for data the codec cannot carry. */
  encode(message: ClientMessage): string | Uint8Array;
  /** Decodes and validates one frame from the server. Never throws. */
  parse(raw: unknown): ParseResult<ServerMessage>;
}

/** The subprotocols offered for a codec, preferred first; the server picks the first it has. */
export function offeredProtocols(codec: CodecName): string[] {
  return codec === "msgpack" ? [MSGPACK_SUBPROTOCOL, SUBPROTOCOL] : [SUBPROTOCOL];
}

/** The MessagePack half of `@lifeline/protocol`. */
export type MessagePackModule = typeof import("@lifeline/protocol/msgpack");

let messagePackImport: Promise<MessagePackModule> | undefined;

/**
 * Loads the MessagePack codec on first use: a dynamic import, so bundles of JSON clients
 * (the default) leave the MessagePack encoder out.
 */
export function loadMessagePack(): Promise<MessagePackModule> {
  messagePackImport ??= import("@lifeline/protocol/msgpack").catch((error: unknown) => {
    messagePackImport = undefined;
    throw error;
  });
  return messagePackImport;
}

/**
 * JSON text frames. `guardBinary` is for clients that asked for MessagePack and landed on a
 * JSON connection: binary data would otherwise become `{"0":..}` without a word.
 */
export function jsonCodec(maxChars: number, guardBinary = false): WireCodec {
  const parseOptions = { maxChars };
  return {
    name: "json",
    encode(message) {
      if (guardBinary && carriesData(message) && containsBinary(payloadOf(message))) {
        throw new TypeError(
          "this connection uses JSON (the server did not accept MessagePack, or the client fell back to SSE, which is JSON only): binary data cannot be sent on it",
        );
      }
      return JSON.stringify(message);
    },
    parse: (raw) => parseServerMessage(raw, parseOptions),
  };
}

/** MessagePack binary frames; the frame cap is the client's `maxMessageChars`, in bytes. */
export function messagePackCodec(module: MessagePackModule, maxBytes: number): WireCodec {
  const parseOptions = { maxBytes };
  return {
    name: "msgpack",
    encode: (message) => module.encodeMessagePack(message),
    parse: (raw) => module.parseServerMessagePack(raw, parseOptions),
  };
}

/**
 * The codec of a connection whose server picked `protocol`: MessagePack only when it
 * answered `lifeline.v1.msgpack` (and the client loaded it), JSON otherwise.
 */
export function negotiatedCodec(
  protocol: string | undefined,
  codecs: { readonly json: WireCodec; readonly msgpack?: WireCodec | undefined },
): WireCodec {
  return protocol === MSGPACK_SUBPROTOCOL && codecs.msgpack ? codecs.msgpack : codecs.json;
}

type DataMessage = Extract<ClientMessage, { type: "publish" | "request" }>;

function carriesData(message: ClientMessage): message is DataMessage {
  return message.type === "publish" || message.type === "request";
}

function payloadOf(message: DataMessage): unknown {
  return message.type === "publish" ? message.data : message.params;
}

/** Deeper than any message the protocol accepts (its validators bound the depth first). */
const MAX_DEPTH = 256;

/** True when `value` holds a `Uint8Array` (or another binary view) anywhere. */
export function containsBinary(value: unknown, depth = 0): boolean {
  if (typeof value !== "object" || value === null || depth > MAX_DEPTH) return false;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return true;
  if (Array.isArray(value)) return value.some((item) => containsBinary(item, depth + 1));
  for (const key in value) {
    if (containsBinary((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/**
 * Refuses binary `data` or `params` before it is queued when the client's codec is JSON:
 * the application learns at the call, not from a server that got `{"0":..}`.
 */
export function refuseBinaryUnderJson(codec: CodecName, value: unknown, what: string): void {
  if (codec !== "json" || !containsBinary(value)) return;
  throw new TypeError(
    `${what} holds binary data (a Uint8Array), which the JSON codec cannot carry: create the client with codec: "msgpack"`,
  );
}

/** The codecs one connection may end up with: JSON always, MessagePack when asked for. */
export interface CodecSet {
  readonly json: WireCodec;
  readonly msgpack?: WireCodec | undefined;
}

/**
 * The codecs of a client asking for `codec`, made once: MessagePack is loaded on the first
 * attempt that offers it (and again after a failed load).
 */
export function codecLoader(codec: CodecName, maxMessageChars: number): () => Promise<CodecSet> {
  const json = jsonCodec(maxMessageChars, codec === "msgpack");
  const jsonOnly: CodecSet = { json };
  let loaded: CodecSet | undefined;
  return async () => {
    if (codec === "json") return jsonOnly;
    loaded ??= { json, msgpack: messagePackCodec(await loadMessagePack(), maxMessageChars) };
    return loaded;
  };
}
