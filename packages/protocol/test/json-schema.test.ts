import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { describe, expect, test } from "vitest";
import {
  CloseCode,
  clientMessageSchemas,
  ErrorCode,
  parseClientMessage,
  parseServerMessage,
  serverMessageSchemas,
  toJsonSchema,
} from "../src/index.js";
import { validClientMessages, validServerMessages } from "./fixtures.js";

const committedPath = fileURLToPath(new URL("../../../schema/lifeline.v1.json", import.meta.url));
const document = toJsonSchema();

/** A validator built only from the exported document, as a client in another language would. */
function exportedValidator(definition: "ClientMessage" | "ServerMessage" | null) {
  const ajv = new Ajv({ strict: false, strictNumbers: true });
  ajv.addSchema(document);
  const id = String(document.$id);
  const validate = ajv.getSchema(definition === null ? id : `${id}#/definitions/${definition}`);
  if (!validate) throw new Error("the exported schema did not compile");
  return validate;
}

describe("schema/lifeline.v1.json", () => {
  test("is up to date (run `pnpm --filter @lifeline/protocol schema`)", () => {
    const committed = readFileSync(committedPath, "utf8");
    expect(committed).toBe(`${JSON.stringify(document, null, 2)}\n`);
  });

  test("defines every message, both unions, close codes and error codes", () => {
    const definitions = document.definitions as Record<string, Record<string, unknown>>;
    const names = Object.keys(definitions);
    for (const name of ["ClientMessage", "ServerMessage", "ResponseOk", "ResponseError"]) {
      expect(names).toContain(name);
    }
    expect(names).toEqual(expect.arrayContaining(["PublishAck", "HandshakeQuery", "ResumePoint"]));
    const clientRefs = (definitions.ClientMessage!.oneOf as { $ref: string }[]).length;
    expect(clientRefs).toBe(Object.keys(clientMessageSchemas).length);
    // response is one entry in serverMessageSchemas and one ResponseMessage union here
    const serverRefs = (definitions.ServerMessage!.oneOf as { $ref: string }[]).length;
    expect(serverRefs).toBe(Object.keys(serverMessageSchemas).length);
    const errorCodes = (definitions.ErrorCode!.oneOf as { const: string }[]).map((c) => c.const);
    expect(errorCodes.sort()).toEqual(Object.values(ErrorCode).sort());
    const closeCodes = (definitions.CloseCode!.oneOf as { const: number }[]).map((c) => c.const);
    expect(closeCodes.sort()).toEqual(Object.values(CloseCode).sort());
  });

  test("carries no $id below the root (it would rebase the $refs)", () => {
    const text = JSON.stringify(document.definitions);
    expect(text).not.toContain('"$id"');
  });

  test("a standard validator built from it accepts every valid message", () => {
    const any = exportedValidator(null);
    const clientOnly = exportedValidator("ClientMessage");
    const serverOnly = exportedValidator("ServerMessage");
    for (const message of validClientMessages) {
      expect(clientOnly(message)).toBe(true);
      expect(any(message)).toBe(true);
    }
    for (const message of validServerMessages) {
      expect(serverOnly(message)).toBe(true);
      expect(any(message)).toBe(true);
    }
  });

  test("agrees with the codec on invalid messages", () => {
    const clientOnly = exportedValidator("ClientMessage");
    const serverOnly = exportedValidator("ServerMessage");
    const invalid = [
      { type: "subscribe", id: "1", topic: "a//b" },
      { type: "publish", id: "1", topic: "a" },
      { type: "request", id: "1", method: "m", timeout_ms: 0 },
      { type: "response", id: "1", ok: true },
      { type: "response", id: "1", ok: false, result: 1 },
      { type: "hello" },
      { type: "ping", extra: 1 },
      { type: "nope" },
    ];
    for (const message of invalid) {
      const text = JSON.stringify(message);
      expect(clientOnly(message)).toBe(parseClientMessage(text).ok);
      expect(serverOnly(message)).toBe(parseServerMessage(text).ok);
      expect(clientOnly(message) || serverOnly(message)).toBe(false);
    }
  });
});
