/**
 * The protocol's plain constants, apart from the TypeBox schemas in messages.ts (which
 * re-exports them): what a client needs at run time besides the codec, so a browser
 * bundle that does not use the schemas leaves TypeBox out.
 */

/** Protocol version spoken by this package (the `version` query parameter, `accepted_version`). */
export const PROTOCOL_VERSION = 1;
/** WebSocket subprotocol a client offers (RFC 6455 section 1.9). */
export const SUBPROTOCOL = "lifeline.v1";
/**
 * WebSocket subprotocol for the MessagePack codec: the same messages, one binary frame each
 * (PROTOCOL.md, "MessagePack codec").
 */
export const MSGPACK_SUBPROTOCOL = "lifeline.v1.msgpack";

/**
 * Upper bounds that keep a single message from costing unbounded memory or CPU.
 * String lengths count UTF-16 code units (JavaScript's `String.length`).
 */
export const Limits = {
  idLength: 128,
  topicLength: 256,
  methodLength: 128,
  epochLength: 64,
  messageLength: 1024,
  reasonLength: 256,
  userLength: 256,
  features: 64,
} as const;

/** `client_id`: letters, digits and `_ . : -`, 1 to 128 of them. */
export const ClientIdPattern = "^[A-Za-z0-9_.:-]{1,128}$";
