/**
 * The seam between the core and the wires: the `Transport` strategy, prepared messages
 * encoded once per wire, and the `ws` adapter (PROTOCOL.md, "Connecting").
 */
export {
  PreparedMessage,
  prepareEntry,
  prepareHeartbeat,
  prepareMessage,
} from "./prepared-message.js";
export type {
  CodecName,
  Transport,
  TransportName,
  TransportSink,
  WriteTarget,
} from "./transport.js";
export { type PreframedCapability, preframedCapability } from "./ws-capability.js";
export {
  createWsEndpoint,
  type Upgraded,
  type WsEndpoint,
  websocketSubprotocols,
} from "./ws-transport.js";
