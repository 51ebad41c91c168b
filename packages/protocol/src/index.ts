/**
 * The Lifeline wire protocol v1 (PROTOCOL.md): message schemas and types, validators, close and
 * error codes, and application contracts.
 *
 * @packageDocumentation
 * @module @lifeline/protocol
 */
export { ajv, compile } from "./ajv.js";
export type {
  AppendOptions,
  AppendResult,
  Broker,
  BrokerHealth,
  EntryListener,
  HistoryOptions,
  HistoryRead,
  LogEntry,
  TopicHead,
} from "./broker.js";
export {
  CloseCode,
  type CloseCodeInfo,
  closeCodeInfo,
  describeCloseCode,
  isFatalClose,
  MAX_CLOSE_REASON_BYTES,
  type RetryClass,
  shouldReconnect,
  truncateCloseReason,
} from "./close-codes.js";
export {
  DEFAULT_MAX_MESSAGE_CHARS,
  type ParseOptions,
  type ParseResult,
  type ProtocolIssue,
  parseClientMessage,
  parseServerMessage,
  serializeMessage,
  validateClientMessage,
  validateServerMessage,
  withRequiredPayload,
} from "./codec.js";
export {
  ClientIdPattern,
  Limits,
  MSGPACK_SUBPROTOCOL,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
} from "./constants.js";
export {
  type Contract,
  type ContractCheck,
  type ContractIssue,
  type ContractOptions,
  type ContractSpec,
  defineContract,
  type MethodOf,
  type MethodParams,
  type MethodResult,
  type MethodSchema,
  type PayloadSchema,
  type PayloadValidator,
  type PublishRule,
  type TopicData,
  type TopicOf,
  type TopicPattern,
  type TopicSpec,
} from "./contract.js";
export { ErrorCode, errorCodeDescriptions, isErrorCode } from "./error-codes.js";
export { JSON_SCHEMA_ID, toJsonSchema } from "./json-schema.js";
export {
  ClientId,
  ClientMessage,
  type ClientMessageType,
  clientMessageSchemas,
  Data,
  Epoch,
  ErrorBody,
  ErrorMessage,
  HandshakeQuery,
  HelloMessage,
  HistoryDirection,
  HistoryEntry,
  HistoryMessage,
  HistoryPage,
  MessageId,
  MethodName,
  Offset,
  PingMessage,
  PongMessage,
  PublishAck,
  PublishMessage,
  RequestMessage,
  ResponseError,
  ResponseMessage,
  ResponseOk,
  ResumePoint,
  ROLES,
  Role,
  ServerMessage,
  type ServerMessageType,
  ShutdownMessage,
  SubscribedMessage,
  SubscribeMessage,
  serverMessageSchemas,
  TopicMessage,
  TopicName,
  UnsubscribedMessage,
  UnsubscribeMessage,
} from "./messages.js";
export { isStandardSchema, type StandardSchemaV1 } from "./standard-schema.js";
