import { describe, expect, it } from "vitest";
import { CliError } from "../src/errors.js";
import { healthUrl, toSocketUrl } from "../src/url.js";

describe("toSocketUrl", () => {
  it.each([
    ["ws://h:1/ws", "ws://h:1/ws"],
    ["wss://h/custom?x=1", "wss://h/custom?x=1"],
    ["ws://h:1", "ws://h:1/ws"],
    ["http://h:8080", "ws://h:8080/ws"],
    ["https://h/", "wss://h/ws"],
    ["http://h/api/socket", "ws://h/api/socket"],
  ])("%s -> %s", (input, expected) => {
    expect(toSocketUrl(input)).toBe(expected);
  });

  it.each(["h:8080", "ftp://h/", "", "ws//h"])("refuses %j as a usage error", (input) => {
    expect(() => toSocketUrl(input)).toThrow(CliError);
  });
});

describe("healthUrl", () => {
  it("is /health on the same host over http(s), without the query", () => {
    expect(healthUrl("ws://h:1/ws?token=x")).toBe("http://h:1/health");
    expect(healthUrl("wss://h/deep/ws")).toBe("https://h/health");
  });
});
