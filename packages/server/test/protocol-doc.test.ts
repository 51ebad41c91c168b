import { readFileSync } from "node:fs";
import {
  ClientMessage,
  CloseCode,
  closeCodeInfo,
  ErrorCode,
  type RetryClass,
  ServerMessage,
} from "@lifeline/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createServer, type LifelineServer } from "../src/index.js";

// PROTOCOL.md is what implementers in other languages read: its tables and its hello
// example must say what this code does.
const doc = readFileSync(new URL("../../../PROTOCOL.md", import.meta.url), "utf8");

/**
 * The rows of the first Markdown table under the heading `<marks> <heading>` (`## Close
 * codes`, `### Client to server`), as arrays of trimmed cells.
 */
function tableUnder(heading: string, marks = "##"): string[][] {
  const start = doc.indexOf(`\n${marks} ${heading}\n`);
  if (start === -1) throw new Error(`PROTOCOL.md has no "${marks} ${heading}" section`);
  const section = doc.slice(start + 1).split(/\n#{2,} /)[0] ?? "";
  const lines = section.split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

/** The "client reconnects?" wording of each retry class. */
function retryClassOf(text: string): RetryClass | string {
  if (/^no \(it was asked\)/.test(text)) return "none";
  if (/^no(: | \()fatal/.test(text)) return "fatal";
  if (/^yes, after `reconnect_after_ms`/.test(text)) return "server";
  if (/^yes, (with a longer backoff|slower)/.test(text)) return "slow";
  if (/^yes, with backoff$/.test(text)) return "backoff";
  return `unrecognised: ${text}`;
}

/** The names between backticks in a table cell: `` `since?` `` gives `since?`, `` `ok: true` `` gives `ok`. */
function namesIn(cell: string): string[] {
  return [...cell.matchAll(/`([^`:]+)(?::[^`]*)?`/g)].map(([, name]) => (name ?? "").trim());
}

/**
 * Each message type of a "Messages" table with its field lists (one per variant, variants
 * separated by `&#124;` as in `response`), optional fields marked `?`, sorted.
 */
function messagesInDoc(heading: string): Record<string, string[][]> {
  const messages: Record<string, string[][]> = {};
  for (const [types = "", fields = ""] of tableUnder(heading, "###")) {
    const variants = fields.split("&#124;").map((variant) => namesIn(variant).sort());
    for (const type of namesIn(types)) messages[type] = variants.sort();
  }
  return messages;
}

interface MessageSchema {
  readonly properties: Record<string, unknown>;
  readonly required?: readonly string[];
}

/** The same, from the TypeBox union the codec validates against. */
function messagesInCode(union: { readonly anyOf: readonly MessageSchema[] }) {
  const messages: Record<string, string[][]> = {};
  for (const schema of union.anyOf) {
    const type = String((schema.properties.type as { const?: unknown }).const);
    const required = new Set(schema.required ?? []);
    const fields = Object.keys(schema.properties)
      .filter((name) => name !== "type")
      .map((name) => (required.has(name) ? name : `${name}?`));
    messages[type] = [...(messages[type] ?? []), fields.sort()].sort();
  }
  return messages;
}

describe("PROTOCOL.md", () => {
  it("lists every client message with the fields its schema has, optional ones marked", () => {
    expect(messagesInDoc("Client to server")).toEqual(messagesInCode(ClientMessage));
  });

  it("lists every server message with the fields its schema has, optional ones marked", () => {
    expect(messagesInDoc("Server to client")).toEqual(messagesInCode(ServerMessage));
  });

  it("lists every close code with the name and retry class the code gives it", () => {
    const documented = tableUnder("Close codes").map(([code, name, , reconnects]) => ({
      code: Number(code),
      name,
      retry: retryClassOf(reconnects ?? ""),
    }));
    const inCode = Object.values(CloseCode).map((code) => ({
      code,
      name: closeCodeInfo[code].name,
      retry: closeCodeInfo[code].retry,
    }));
    expect(documented).toEqual(inCode);
  });

  it("lists every error code, and no other", () => {
    const documented = tableUnder("Error codes").map(([code]) => code?.replaceAll("`", ""));
    expect(documented.sort()).toEqual(Object.values(ErrorCode).sort());
  });

  describe("hello example", () => {
    let server: LifelineServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it("announces the features a default server sends", async () => {
      const example = [...doc.matchAll(/```json\n([\s\S]*?)```/g)]
        .map(([, json]) => JSON.parse(json ?? "") as { type?: string; features?: string[] })
        .find((message) => message.type === "hello");
      expect(example, "PROTOCOL.md has a hello example").toBeDefined();

      server = await createServer({ port: 0, host: "127.0.0.1" });
      const socket = new WebSocket(
        `ws://127.0.0.1:${server.port}/ws?client_id=doc-check&version=1&role=test`,
        ["lifeline.v1"],
      );
      const hello = await new Promise<{ features: string[] }>((resolve, reject) => {
        socket.once("message", (raw) => resolve(JSON.parse(String(raw))));
        socket.once("error", reject);
      });
      socket.close();
      expect(example?.features).toEqual(hello.features);
    });
  });
});
