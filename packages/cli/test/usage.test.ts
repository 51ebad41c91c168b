import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";

describe("bad input", () => {
  it.each([
    [
      ["request", "localhost:8080", "m"],
      /^lifeline: <url> must be a ws:\/\/, wss:\/\/, http:\/\/ or https:\/\/ URL, got scheme "localhost:"\n$/,
    ],
    [["tail", "not a url", "t"], /^lifeline: <url> must be .* got "not a url"\n$/],
    [
      ["request", "ws://127.0.0.1:1/ws", "m", "{oops"],
      /^lifeline: <params-json> must be JSON, got "\{oops": .+\n$/,
    ],
    [
      ["publish", "ws://127.0.0.1:1/ws", "t", "hello"],
      /^lifeline: <data-json> must be JSON, got "hello": .+\n$/,
    ],
    [
      ["tail", "ws://127.0.0.1:1/ws", "t", "--count", "x"],
      /^lifeline: --count expects a whole number >= 1, got "x"\n$/,
    ],
    [
      ["status", "ws://127.0.0.1:1/ws", "--bogus"],
      /^lifeline: status: Unknown option '--bogus'\. \(see lifeline --help\)\n$/,
    ],
    [
      ["request", "ws://127.0.0.1:1/ws"],
      /^lifeline: request expects <url> <method> \[params-json\], got 1 argument \(see lifeline --help\)\n$/,
    ],
    [
      ["--header", "x"],
      /^lifeline: unknown command "--header": expected one of tail, request, publish, status, monitor\n$/,
    ],
    [
      ["status", "ws://127.0.0.1:1/ws", "--header", "no colon"],
      /^lifeline: --header expects "Name: value", got "no colon"\n$/,
    ],
    [
      ["tail", "ws://127.0.0.1:1/ws", "t", "--since", "12"],
      /^lifeline: --since expects offset:epoch as tail prints them \(e\.g\. .+\), got "12"\n$/,
    ],
    [
      ["tail", "ws://127.0.0.1:1/ws", "t", "--since", "1:e", "--rewind", "2"],
      /^lifeline: give --since or --rewind, not both\n$/,
    ],
    [
      ["status", "ws://127.0.0.1:1/ws", "--transport", "http"],
      /^lifeline: --transport expects websocket, sse or websocket,sse \(preferred first\), got "http"\n$/,
    ],
    [
      ["status", "ws://127.0.0.1:1/ws", "--codec", "cbor"],
      /^lifeline: --codec expects json or msgpack, got "cbor"\n$/,
    ],
    [
      ["request", "ws://127.0.0.1:1/ws", "m", "--client-id", "bad id!"],
      /^lifeline: --client-id must match .+, got "bad id!"\n$/,
    ],
  ])("lifeline %j exits 64 with one line", async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(64);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
  });

  it("prints a stack trace only under --debug", async () => {
    const run = await runCli(["request", "nope", "m", "--debug"]);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/^lifeline: <url> must be/);
    expect(run.stderr).toMatch(/\n\s+at /);
  });

  it("--help lists the commands and the exit codes", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    for (const word of ["tail", "request", "publish", "status", "monitor"]) {
      expect(run.stdout).toContain(`lifeline ${word} <url>`);
    }
    expect(run.stdout).toMatch(/^ {2}64 {3}usage/m);
    const command = await runCli(["tail", "--help"]);
    expect(command.stdout).toMatch(/^lifeline tail <url> <topic\.\.\.>/);
    expect(command.stdout).toMatch(/^ {2}2 {4}timeout/m);
  });

  it("--version prints the package's version", async () => {
    const { version } = JSON.parse(
      readFileSync(new URL("../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    const run = await runCli(["--version"]);
    expect(run).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  });
});
