import { Value } from "@sinclair/typebox/value";
import { describe, expect, test } from "vitest";
import {
  ClientId,
  ClientIdPattern,
  HandshakeQuery,
  PROTOCOL_VERSION,
  PublishAck,
  ROLES,
  Role,
  SUBPROTOCOL,
} from "../src/index.js";

test("version and subprotocol agree", () => {
  expect(PROTOCOL_VERSION).toBe(1);
  expect(SUBPROTOCOL).toBe(`lifeline.v${PROTOCOL_VERSION}`);
});

describe("handshake query", () => {
  test("accepts the documented parameters", () => {
    expect(
      Value.Check(HandshakeQuery, { client_id: "tab-1", version: "1", role: "frontend" }),
    ).toBe(true);
    expect(
      Value.Check(HandshakeQuery, {
        client_id: "a.b:c_d-1",
        version: "1",
        role: "test",
        token: "t",
      }),
    ).toBe(true);
  });

  test.each([
    ["no client_id", { version: "1", role: "frontend" }],
    ["a client_id with a space", { client_id: "a b", version: "1", role: "frontend" }],
    ["a 129-character client_id", { client_id: "x".repeat(129), version: "1", role: "frontend" }],
    ["version 2", { client_id: "a", version: "2", role: "frontend" }],
    ["no role", { client_id: "a", version: "1" }],
    ["an unknown role", { client_id: "a", version: "1", role: "root" }],
  ])("refuses %s", (_, query) => {
    expect(Value.Check(HandshakeQuery, query)).toBe(false);
  });

  test("ROLES lists the Role schema's values", () => {
    for (const role of ROLES) expect(Value.Check(Role, role)).toBe(true);
    expect(ROLES).toEqual(["frontend", "admin", "test"]);
  });

  test("ClientIdPattern and ClientId agree", () => {
    const pattern = new RegExp(ClientIdPattern);
    for (const id of ["a", "tab-1", "x".repeat(128), "", "x".repeat(129), "a/b", "é"]) {
      expect(Value.Check(ClientId, id)).toBe(pattern.test(id));
    }
  });
});

test("PublishAck is a topic, an offset and an epoch", () => {
  expect(Value.Check(PublishAck, { topic: "a/b", offset: 3, epoch: "e" })).toBe(true);
  expect(Value.Check(PublishAck, { topic: "a/b", offset: -1, epoch: "e" })).toBe(false);
  expect(Value.Check(PublishAck, { topic: "a/b", offset: 3 })).toBe(false);
});
