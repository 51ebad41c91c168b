import { afterEach, describe, expect, it } from "vitest";
import * as browserEntry from "../src/index.js";
import * as nodeEntry from "../src/node.js";
import { fakeSockets } from "./helpers/fake-socket.js";
import { ManualClock } from "./helpers/manual-clock.js";

const original = (globalThis as { WebSocket?: unknown }).WebSocket;
afterEach(() => {
  (globalThis as { WebSocket?: unknown }).WebSocket = original;
});

describe("entries", () => {
  it("resolve to the Node entry under the node condition", async () => {
    const pkg = await import("@lifeline/client");
    expect(pkg.createClient).toBe(nodeEntry.createClient);
    expect(pkg.createClient).not.toBe(browserEntry.createClient);
  });

  it("export the same names, and the Node entry its file store too", () => {
    expect(Object.keys(nodeEntry).sort()).toEqual(
      [...Object.keys(browserEntry), "filePositions"].sort(),
    );
  });

  it("prefer a global WebSocket over ws in Node (Node 22+)", async () => {
    const sockets = fakeSockets();
    (globalThis as { WebSocket?: unknown }).WebSocket = sockets.WebSocket;
    const client = nodeEntry.createClient({
      url: "ws://global.test/ws",
      clientId: "c",
      clock: new ManualClock(),
      lifecycle: false,
      logLevel: "silent",
    });
    const socket = await sockets.nth(0);
    expect(new URL(socket.url).host).toBe("global.test");
    client.close();
  });

  it("prefer the WebSocket option over everything", async () => {
    const global = fakeSockets();
    const given = fakeSockets();
    (globalThis as { WebSocket?: unknown }).WebSocket = global.WebSocket;
    const client = nodeEntry.createClient({
      url: "ws://given.test/ws",
      clientId: "c",
      WebSocket: given.WebSocket,
      clock: new ManualClock(),
      lifecycle: false,
      logLevel: "silent",
    });
    await given.nth(0);
    expect(global.all).toHaveLength(0);
    client.close();
  });
});
