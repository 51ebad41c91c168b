import { readFileSync } from "node:fs";
import { CloseCode, closeCodeInfo, ErrorCode, type RetryClass } from "@lifeline/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createServer, type LifelineServer } from "../src/index.js";

// PROTOCOL.md is what implementers in other languages read: its tables and its hello
// example must say what this code does.
const doc = readFileSync(new URL("../../../PROTOCOL.md", import.meta.url), "utf8");

/** The rows of the first Markdown table under `## <heading>`, as arrays of trimmed cells. */
function tableUnder(heading: string): string[][] {
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`PROTOCOL.md has no "## ${heading}" section`);
  const section = doc.slice(start + 1).split(/\n## /)[0] ?? "";
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

describe("PROTOCOL.md", () => {
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
