import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { httpCall } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import {
  arrayElements,
  type BodyRead,
  MAX_MESSAGES_PER_POST,
  readBody,
  splitMessages,
} from "../../src/transport/sse-body.js";

const texts = (body: string): string[] => {
  const split = splitMessages(Buffer.from(body));
  if (!split.ok) throw new Error(split.refusal.reason);
  return split.messages.map((message) => message.toString());
};

describe("splitMessages", () => {
  it("takes one object as one message, byte for byte", () => {
    expect(texts('{"type":"ping"}')).toEqual(['{"type":"ping"}']);
  });

  it("takes an array as its elements, each exactly as sent", () => {
    const body = '[ {"type":"ping"} ,{"type":"publish","data":{"a":[1,"],{"]}},\n"x", 1e400 ]';
    expect(texts(body)).toEqual([
      '{"type":"ping"}',
      '{"type":"publish","data":{"a":[1,"],{"]}}',
      '"x"',
      "1e400",
    ]);
  });

  it("keeps escaped quotes and backslashes inside strings", () => {
    expect(texts('[{"t":"a\\"],"},{"t":"\\\\"}]')).toEqual(['{"t":"a\\"],"}', '{"t":"\\\\"}']);
  });

  it("takes an empty array as no message", () => {
    expect(texts("[]")).toEqual([]);
    expect(texts("[ ]")).toEqual([]);
  });

  it("refuses what is not JSON, or JSON that is neither object nor array, with 400", () => {
    for (const body of ["", "{", "ping", '"ping"', "42", "null", '{"a":1} x']) {
      const split = splitMessages(Buffer.from(body));
      expect(split.ok ? 0 : split.refusal.status, body).toBe(400);
    }
  });

  it(`refuses more than ${MAX_MESSAGES_PER_POST} messages in one body with 413`, () => {
    const many = (n: number) => JSON.stringify(Array.from({ length: n }, () => ({ type: "ping" })));
    expect(texts(many(MAX_MESSAGES_PER_POST))).toHaveLength(MAX_MESSAGES_PER_POST);
    const split = splitMessages(Buffer.from(many(MAX_MESSAGES_PER_POST + 1)));
    expect(split.ok ? 0 : split.refusal.status).toBe(413);
  });

  it("splits nested arrays only at the top level", () => {
    expect(arrayElements("[[1,2],[3]]")).toEqual(["[1,2]", "[3]"]);
  });
});

describe("readBody", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** A server answering with what `readBody(request, max)` made of the body. */
  async function reader(max: number): Promise<string> {
    server = createServer((request: IncomingMessage, response) => {
      void readBody(request, max).then((read: BodyRead) => {
        const status = read.ok ? 200 : read.refusal.status;
        response.writeHead(status, read.ok ? {} : { Connection: "close" });
        response.end(read.ok ? read.body : read.refusal.reason);
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  it("reads a body up to the limit", async () => {
    const url = await reader(10);
    const answer = await httpCall(url, { method: "POST", body: "0123456789" });
    expect(answer).toMatchObject({ status: 200, body: "0123456789" });
  });

  it("refuses a declared length past the limit before reading it", async () => {
    const url = await reader(10);
    const answer = await httpCall(url, { method: "POST", body: "01234567890" });
    expect(answer).toMatchObject({ status: 413, body: "body larger than 10 bytes" });
  });

  it("refuses a chunked body once it grows past the limit", async () => {
    const url = await reader(10);
    const answer = await httpCall(url, {
      method: "POST",
      headers: { "Transfer-Encoding": "chunked" },
      body: "0123456789abc",
    });
    expect(answer.status).toBe(413);
  });
});
