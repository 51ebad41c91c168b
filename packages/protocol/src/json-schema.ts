import type { TSchema } from "@sinclair/typebox";
import { closeCodeInfo } from "./close-codes.js";
import { ErrorCode, errorCodeDescriptions } from "./error-codes.js";
import {
  clientMessageSchemas,
  Data,
  Epoch,
  ErrorBody,
  HandshakeQuery,
  HistoryPage,
  MessageId,
  MethodName,
  Offset,
  PROTOCOL_VERSION,
  PublishAck,
  RefreshResult,
  ResponseError,
  ResponseOk,
  ResumePoint,
  Role,
  SUBPROTOCOL,
  serverMessageSchemas,
  TopicName,
} from "./messages.js";

/** Where the exported document says it lives; `$ref`s inside it are relative to it. */
export const JSON_SCHEMA_ID = "https://lifeline.dev/schema/lifeline.v1.json";

type JsonObject = { [key: string]: JsonValue };
type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/**
 * `subscribe` -> `SubscribeMessage`, `token_expiring` -> `TokenExpiringMessage`: definition
 * names match the TypeScript exports.
 */
const definitionName = (type: string): string =>
  type === "message"
    ? "TopicMessage"
    : `${type
        .split("_")
        .map((word) => `${word.charAt(0).toUpperCase()}${word.slice(1)}`)
        .join("")}Message`;

/**
 * The whole wire protocol as one JSON Schema (draft-07) document, for clients written in
 * other languages: every message under `definitions`, the unions `ClientMessage` and
 * `ServerMessage`, the handshake query, close codes and error codes. The document itself
 * validates any message of either direction. `schema/lifeline.v1.json` is this, committed.
 */
export function toJsonSchema(): JsonObject {
  const definitions: Record<string, JsonValue> = {};
  const refs = (names: readonly string[]): JsonValue[] =>
    names.map((name) => ({ $ref: `#/definitions/${name}` }));

  const clientNames: string[] = [];
  for (const [type, schema] of Object.entries<TSchema>(clientMessageSchemas)) {
    const name = definitionName(type);
    definitions[name] = plain(schema);
    clientNames.push(name);
  }
  const serverNames: string[] = [];
  for (const [type, schema] of Object.entries<TSchema>(serverMessageSchemas)) {
    if (type === "response") {
      definitions.ResponseOk = plain(ResponseOk);
      definitions.ResponseError = plain(ResponseError);
      definitions.ResponseMessage = {
        description: "Answer to request or publish, discriminated by ok.",
        oneOf: refs(["ResponseOk", "ResponseError"]),
      };
      serverNames.push("ResponseMessage");
      continue;
    }
    const name = definitionName(type);
    definitions[name] ??= plain(schema);
    serverNames.push(name);
  }
  definitions.ClientMessage = {
    description: "Any message a client sends (discriminated by type).",
    oneOf: refs(clientNames),
  };
  definitions.ServerMessage = {
    description: "Any message a server sends (discriminated by type).",
    oneOf: refs(serverNames),
  };

  Object.assign(definitions, {
    MessageId: plain(MessageId),
    TopicName: plain(TopicName),
    MethodName: plain(MethodName),
    Offset: plain(Offset),
    Epoch: plain(Epoch),
    Data: plain(Data),
    ResumePoint: plain(ResumePoint),
    ErrorBody: plain(ErrorBody),
    PublishAck: plain(PublishAck),
    HistoryPage: plain(HistoryPage),
    RefreshResult: plain(RefreshResult),
    Role: plain(Role),
    HandshakeQuery: plain(HandshakeQuery),
    ErrorCode: {
      description: "Codes of error messages and failed responses. Accept unknown codes.",
      type: "string",
      oneOf: Object.values(ErrorCode).map((code) => ({
        const: code,
        description: errorCodeDescriptions[code],
      })),
    },
    CloseCode: {
      description:
        "WebSocket close codes. x-retry: none (do not reconnect), fatal (do not reconnect, needs a change), backoff, slow (back off harder), server (after shutdown.reconnect_after_ms).",
      type: "integer",
      oneOf: Object.entries(closeCodeInfo).map(([code, info]) => ({
        const: Number(code),
        title: info.name,
        description: info.description,
        "x-retry": info.retry,
      })),
    },
  });

  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: JSON_SCHEMA_ID,
    title: `Lifeline wire protocol v${PROTOCOL_VERSION}`,
    description: `JSON text frames over WebSocket (subprotocol ${SUBPROTOCOL}). See PROTOCOL.md. String lengths count UTF-16 code units.`,
    "x-protocol-version": PROTOCOL_VERSION,
    "x-subprotocol": SUBPROTOCOL,
    // anyOf, not oneOf: ping and pong belong to both directions.
    anyOf: refs(["ClientMessage", "ServerMessage"]),
    definitions,
  };
}

/**
 * A TypeBox schema as plain JSON: TypeBox's symbol keys vanish in JSON, and `$id`s are
 * dropped because an `$id` inside `definitions` would rebase every `$ref` beneath it.
 */
function plain(schema: TSchema): JsonObject {
  return JSON.parse(
    JSON.stringify(schema, (key, value: unknown) => (key === "$id" ? undefined : value)),
  ) as JsonObject;
}
