import { describe, expect, it } from "vitest";
import { createUrlRotation } from "../src/url-rotation.js";

describe("createUrlRotation", () => {
  it("keeps a single URL", async () => {
    const urls = createUrlRotation("ws://a/ws");
    urls.rotate();
    expect(await urls.resolve(0)).toBe("ws://a/ws");
  });

  it("rotates a list on failure, wrapping around", async () => {
    const urls = createUrlRotation(["ws://a/ws", "ws://b/ws"]);
    expect(await urls.resolve(0)).toBe("ws://a/ws");
    expect(await urls.resolve(0)).toBe("ws://a/ws");
    urls.rotate();
    expect(await urls.resolve(1)).toBe("ws://b/ws");
    urls.rotate();
    expect(await urls.resolve(2)).toBe("ws://a/ws");
    expect(urls.current).toBe("ws://a/ws");
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
