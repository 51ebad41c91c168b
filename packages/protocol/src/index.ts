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
  ConflateEntry,
  ControlChannel,
  ControlCommand,
  EntryListener,
  HistoryOptions,
  HistoryRead,
  InboxAddress,
  LatestQuery,
  LatestRead,
  LogEntry,
  SessionDirectory,
  SessionRecord,
  SessionTarget,
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
export { conflationKey, UNKEYED } from "./conflation.js";
export {
  ClientIdPattern,
  INBOX_TOPIC,
  isReservedTopic,
  Limits,
  MSGPACK_SUBPROTOCOL,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
} from "./constants.js";
export {
  type ConflateRule,
  type Contract,
  type ContractCheck,
  type ContractIssue,
  type ContractOptions,
  type ContractSpec,
  type DirectData,
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
export {
  applyMergePatch,
  type DeltaChanges,
  type DeltaFull,
  type DeltaMessage,
  type DeltaStateOf,
  type MergePatch,
  readDelta,
} from "./delta.js";
export { DeltaSchema, type DeltaSchemaData } from "./delta-schema.js";
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
  ExpiresAt,
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
  RefreshMessage,
  RefreshResult,
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
  TokenExpiringMessage,
  TopicMessage,
  TopicName,
  UnsubscribedMessage,
  UnsubscribeMessage,
} from "./messages.js";
export { isStandardSchema, type StandardSchemaV1 } from "./standard-schema.js";
