/**
 * The MessagePack codec of the `lifeline.v1.msgpack` subprotocol: the same messages and
 * validators as the JSON codec, in binary frames.
 *
 * @packageDocumentation
 * @module @lifeline/protocol/msgpack
 */
import { DecodeError, Decoder, Encoder, type ExtensionCodecType } from "@msgpack/msgpack";
import {
  DEFAULT_MAX_MESSAGE_CHARS,
  type ParseResult,
  type ProtocolIssue,
  validateClientMessage,
  validateServerMessage,
  withRequiredPayload,
} from "./codec.js";
import { ErrorCode } from "./error-codes.js";
import type { ClientMessage, ServerMessage } from "./messages.js";

/**
 * The MessagePack codec (the package README, "MessagePack codec"): the same messages as
 * the JSON codec, one binary frame each, checked by the same validators after decoding.
 * Its data model is JSON's plus binary: a `Uint8Array` anywhere in `data`, `params` or
 * `result` travels as MessagePack `bin` and comes back as a `Uint8Array`.
 *
 * Built on `@msgpack/msgpack` rather than `msgpackr`: it never generates code at run time
 * (the protocol runs under a Content-Security-Policy without 'unsafe-eval', as the JSON
 * validators do), refuses a `__proto__` key while decoding, and bounds every length it
 * reads, which is what a server decoding frames from strangers needs.
 */

export interface MessagePackParseOptions {
  /**
   * Frames longer than this many bytes are refused before decoding.
   * @default 1048576
   */
  readonly maxBytes?: number;
}

/**
 * Extension types are not part of the data model: a peer that sends one (a timestamp, an
 * application type) is refused rather than handed an object the JSON codec could never
 * produce. A `Date` is refused on encoding for the same reason (JSON would have turned it
 * into a string silently; here the sender is told).
 */
const noExtensions: ExtensionCodecType<undefined> = {
  tryToEncode(object) {
    if (object instanceof Date) {
      throw new TypeError(
        "a Date cannot be sent with the MessagePack codec: send an ISO string or a number",
      );
    }
    return null;
  },
  decode(_data, type) {
    throw new DecodeError(`MessagePack extension type ${type} is not part of the protocol`);
  },
};

// One encoder reused for every message: it keeps its buffer between calls. `ignoreUndefined`
// drops an absent optional field as JSON does; required payloads were made `null` first.
const encoder = new Encoder({ extensionCodec: noExtensions, ignoreUndefined: true });
const decoders = new Map<number, Decoder>();

/** A decoder whose every length bound is the frame's own size cap. */
function decoderFor(maxBytes: number): Decoder {
  let decoder = decoders.get(maxBytes);
  if (decoder === undefined) {
    decoder = new Decoder({
      extensionCodec: noExtensions,
      maxStrLength: maxBytes,
      maxBinLength: maxBytes,
      // Every element takes at least one byte, so a longer header is a lie to refuse
      // before anything is allocated for it.
      maxArrayLength: maxBytes,
      maxMapLength: maxBytes,
      maxExtLength: maxBytes,
    });
    // A handful of distinct caps at most (one per server or client option).
    if (decoders.size < 8) decoders.set(maxBytes, decoder);
  }
  return decoder;
}

/**
 * Encodes a message as one MessagePack frame. Throws a `TypeError` on values the data model
 * does not have (a `Date`, a `BigInt`), like `serializeMessage` throws on cycles.
 */
export function encodeMessagePack(message: ClientMessage | ServerMessage): Uint8Array {
  // `encode` returns a view of the encoder's reused buffer: copy it out before the next call.
  return encoder.encode(withRequiredPayload(message)).slice();
}

/**
 * Encodes any value of the data model (JSON's plus bytes), not only a message: for a broker
 * or a store that keeps application data with its bytes. Throws a `TypeError` like
 * `encodeMessagePack` on values the data model does not have.
 */
export function encodeMessagePackValue(value: unknown): Uint8Array {
  return encoder.encode(value).slice();
}

/**
 * Decodes one MessagePack value of the data model, without validating it as a message: the
 * reverse of `encodeMessagePackValue`, with the same refusals and bounds as the frame
 * parsers (`maxBytes` bounds the input and every length in it). Never throws.
 */
export function decodeMessagePackValue(
  raw: unknown,
  options?: MessagePackParseOptions,
): DecodedValue {
  return decodeFrame(raw, options);
}

/** Decodes and validates one binary frame from a client. Never throws. */
export function parseClientMessagePack(
  raw: unknown,
  options?: MessagePackParseOptions,
): ParseResult<ClientMessage> {
  const decoded = decodeFrame(raw, options);
  return decoded.ok ? validateClientMessage(decoded.value) : decoded;
}

/** Decodes and validates one binary frame from a server. Never throws. */
export function parseServerMessagePack(
  raw: unknown,
  options?: MessagePackParseOptions,
): ParseResult<ServerMessage> {
  const decoded = decodeFrame(raw, options);
  return decoded.ok ? validateServerMessage(decoded.value) : decoded;
}

/** One decoded MessagePack value, or why the bytes are not one (`invalid_message`). */
export type DecodedValue =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: ProtocolIssue };

function decodeFrame(raw: unknown, options: MessagePackParseOptions | undefined): DecodedValue {
  const bytes = asBytes(raw);
  if (bytes === undefined) {
    return refuse(`expected a MessagePack binary frame, got ${describeFrame(raw)}`);
  }
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_MESSAGE_CHARS;
  if (bytes.byteLength > maxBytes) {
    return refuse(`expected at most ${maxBytes} bytes, got ${bytes.byteLength}`);
  }
  try {
    return { ok: true, value: decoderFor(maxBytes).decode(bytes) };
  } catch (error) {
    const reason = error instanceof Error ? ` (${clip(error.message, 120)})` : "";
    return refuse(`expected one MessagePack value, got bytes that do not decode${reason}`);
  }
}

/** `ws` hands a binary frame over as a Buffer, fragments as Buffer[]; browsers as ArrayBuffer. */
function asBytes(raw: unknown): Uint8Array | undefined {
  if (raw instanceof Uint8Array) return raw;
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  if (Array.isArray(raw) && raw.length > 0 && raw.every((part) => part instanceof Uint8Array)) {
    const parts = raw as Uint8Array[];
    const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.byteLength;
    }
    return joined;
  }
  return undefined;
}

function describeFrame(raw: unknown): string {
  if (typeof raw === "string") return "a text frame";
  if (raw === null) return "null";
  return typeof raw === "object" ? "an object" : typeof raw;
}

function refuse(message: string): { ok: false; error: ProtocolIssue } {
  return { ok: false, error: { code: ErrorCode.InvalidMessage, message, path: "" } };
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
