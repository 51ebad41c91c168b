import { describe, expect, it } from "vitest";
import { createUrlRotation } from "../../src/transport/url-rotation.js";

describe("createUrlRotation", () => {
  it("keeps a single URL", async () => {
    const urls = createUrlRotation("ws://a/ws");
    urls.advance({ greeted: false });
    expect(await urls.resolve(0)).toBe("ws://a/ws");
  });

  it("rotates a list on failure, wrapping around", async () => {
    const urls = createUrlRotation(["ws://a/ws", "ws://b/ws"]);
    expect(await urls.resolve(0)).toBe("ws://a/ws");
    expect(await urls.resolve(0)).toBe("ws://a/ws");
    expect(urls.advance({ greeted: false })).toBe(false);
    expect(await urls.resolve(1)).toBe("ws://b/ws");
    urls.advance({ greeted: false });
    expect(await urls.resolve(2)).toBe("ws://a/ws");
    expect(urls.current).toBe("ws://a/ws");
  });

  it("keeps the URL after a connection that was up drops for another reason", async () => {
    const urls = createUrlRotation(["ws://a/ws", "ws://b/ws"]);
    await urls.resolve(0);
    expect(urls.advance({ greeted: true })).toBe(false);
    expect(await urls.resolve(1)).toBe("ws://a/ws");
  });

  it("fails over at once while some URL has not refused as unavailable this round", async () => {
    const urls = createUrlRotation(["ws://a/ws", "ws://b/ws", "ws://c/ws"]);
    const seen: Array<[string, boolean]> = [];
    for (let i = 0; i < 6; i++) {
      const url = await urls.resolve(i);
      seen.push([url, urls.advance({ greeted: false, unavailable: true })]);
    }
    // Three refusals in a row end a round: back off, then start the next one where it left.
    expect(seen).toEqual([
      ["ws://a/ws", true],
      ["ws://b/ws", true],
      ["ws://c/ws", false],
      ["ws://a/ws", true],
      ["ws://b/ws", true],
      ["ws://c/ws", false],
    ]);
  });

  it("starts a new round after a connection was up or an attempt failed otherwise", async () => {
    const urls = createUrlRotation(["ws://a/ws", "ws://b/ws"]);
    expect(urls.advance({ greeted: false, unavailable: true })).toBe(true);
    // b said hello, then announced its shutdown: a has not refused since, so go at once.
    expect(urls.advance({ greeted: true, unavailable: true })).toBe(true);
    // a refuses too: both refused in this round, back off.
    expect(urls.advance({ greeted: false, unavailable: true })).toBe(false);
    // b cannot be reached (not a refusal): the usual backoff, and the round starts over.
    expect(urls.advance({ greeted: false })).toBe(false);
    expect(await urls.resolve(4)).toBe("ws://a/ws");
    expect(urls.advance({ greeted: false, unavailable: true })).toBe(true);
    expect(await urls.resolve(5)).toBe("ws://b/ws");
  });

  it("treats one URL and a url function as a round of one: every refusal backs off", async () => {
    const single = createUrlRotation("ws://a/ws");
    expect(single.advance({ greeted: false, unavailable: true })).toBe(false);
    expect(single.advance({ greeted: true, unavailable: true })).toBe(false);
    const listOfOne = createUrlRotation(["ws://a/ws"]);
    expect(listOfOne.advance({ greeted: false, unavailable: true })).toBe(false);
    const computed = createUrlRotation(() => "ws://a/ws");
    expect(computed.advance({ greeted: false, unavailable: true })).toBe(false);
  });

  it("calls a function before every attempt with the attempt and the previous URL", async () => {
    const seen: unknown[] = [];
    const urls = createUrlRotation(async (context) => {
      seen.push(context);
      return `ws://node-${context.attempt}/ws`;
    });
    expect(await urls.resolve(0)).toBe("ws://node-0/ws");
    expect(await urls.resolve(3)).toBe("ws://node-3/ws");
    expect(seen).toEqual([{ attempt: 0 }, { attempt: 3, previous: "ws://node-0/ws" }]);
  });

  it("refuses an empty list", () => {
    expect(() => createUrlRotation([])).toThrow(/at least one URL/);
  });
});
