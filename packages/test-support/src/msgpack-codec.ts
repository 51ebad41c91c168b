import { decode, encode } from "@msgpack/msgpack";
import type { ClientCodec, Message } from "./ws-client.js";

/** The subprotocols a MessagePack client offers, preferred first (PROTOCOL.md). */
export const PACK_PROTOCOLS: readonly string[] = ["lifeline.v1.msgpack", "lifeline.v1"];

/**
 * The MessagePack wire as a peer in another language would speak it: written against
 * `@msgpack/msgpack` directly, not the protocol package's codec. Binary frames decode into
 * messages; a text frame (the JSON wire, or a test's stray one) is parsed as JSON and marked
 * `textFrame: true`, so a test can see which wire a message came on.
 */
export function packCodec(protocols: readonly string[] = PACK_PROTOCOLS): ClientCodec {
  return {
    protocols,
    decode: (data, isBinary) =>
      isBinary ? (decode(data) as Message) : textMessage(data.toString()),
    encode: (message) => encode(message, { ignoreUndefined: true }),
  };
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
