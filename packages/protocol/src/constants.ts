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
  tokenLength: 8192,
} as const;

/** `client_id`: letters, digits and `_ . : -`, 1 to 128 of them. */
export const ClientIdPattern = "^[A-Za-z0-9_.:-]{1,128}$";

/**
 * The reserved topic name of a client's own inbox (PROTOCOL.md, "Direct messages"): on
 * every connection it means that connection's inbox, so no client can name another's.
 */
export const INBOX_TOPIC = "@inbox";

/**
 * True for `@inbox` and every topic under `@inbox/`: names the server keeps for direct
 * messages, which no client may publish to and only `@inbox` itself may be subscribed to.
 */
export function isReservedTopic(topic: string): boolean {
  return topic === INBOX_TOPIC || topic.startsWith(`${INBOX_TOPIC}/`);
}
