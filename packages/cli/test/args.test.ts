import { describe, expect, it } from "vitest";
import {
  parseClientId,
  parseCodec,
  parseCommandLine,
  parseCount,
  parseHeaders,
  parseJsonArgument,
  parseTransports,
} from "../src/args.js";
import { CliError } from "../src/errors.js";
import { ExitCode } from "../src/exit-codes.js";

function usage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.Usage);
    return (error as Error).message;
  }
  throw new Error("expected a usage error");
}

describe("parseCommandLine", () => {
  it("splits common options from the command's own", () => {
    expect(
      parseCommandLine([
        "tail",
        "ws://h/ws",
        "a",
        "b",
        "--json",
        "-n",
        "3",
        "--token",
        "t",
        "--header",
        "X-A: 1",
        "--header",
        "X-B:2",
        "-q",
      ]),
    ).toEqual({
      kind: "run",
      command: "tail",
      positionals: ["ws://h/ws", "a", "b"],
      values: { json: true, count: "3" },
      common: { token: "t", headers: { "X-A": "1", "X-B": "2" }, quiet: true, debug: false },
    });
    expect(
      parseCommandLine([
        "status",
        "u",
        "--transport",
        "sse",
        "--codec",
        "msgpack",
        "--client-id",
        "c1",
      ]),
    ).toMatchObject({
      common: { transports: ["sse"], codec: "msgpack", clientId: "c1" },
      values: {},
    });
  });

  it("answers help and version before anything else", () => {
    expect(parseCommandLine([])).toEqual({ kind: "help" });
    expect(parseCommandLine(["--help"])).toEqual({ kind: "help" });
    expect(parseCommandLine(["help", "status"])).toEqual({ kind: "help", command: "status" });
    expect(parseCommandLine(["request", "--help"])).toEqual({ kind: "help", command: "request" });
    expect(parseCommandLine(["--version"])).toEqual({ kind: "version" });
  });

  it("refuses an unknown command, an unknown option and a wrong number of arguments", () => {
    expect(usage(() => parseCommandLine(["watch"]))).toMatch(/^unknown command "watch"/);
    expect(usage(() => parseCommandLine(["monitor", "u", "--json"]))).toBe(
      "monitor: Unknown option '--json'. (see lifeline --help)",
    );
    expect(usage(() => parseCommandLine(["publish", "u", "t"]))).toBe(
      "publish expects <url> <topic> <data-json>, got 2 arguments (see lifeline --help)",
    );
  });
});

describe("argument values", () => {
  it("parses JSON or names the argument that is not JSON", () => {
    expect(parseJsonArgument("params-json", '{"a":1}')).toEqual({ a: 1 });
    expect(usage(() => parseJsonArgument("data-json", "{"))).toMatch(
      /^<data-json> must be JSON, got "\{": /,
    );
  });

  it("takes whole numbers at or above the minimum", () => {
    expect(parseCount("count", undefined, 1)).toBeUndefined();
    expect(parseCount("count", "12", 1)).toBe(12);
    for (const bad of ["0", "-1", "1.5", "1e3", ""]) {
      expect(usage(() => parseCount("count", bad, 1))).toMatch(
        /^--count expects a whole number >= 1/,
      );
    }
  });

  it("takes a transport list, preferred first, and a codec", () => {
    expect(parseTransports("sse")).toEqual(["sse"]);
    expect(parseTransports("websocket, sse")).toEqual(["websocket", "sse"]);
    for (const bad of ["", "http", "sse,sse", "websocket,"]) {
      expect(usage(() => parseTransports(bad))).toMatch(/^--transport expects websocket, sse /);
    }
    expect(parseCodec("msgpack")).toBe("msgpack");
    expect(usage(() => parseCodec("cbor"))).toBe('--codec expects json or msgpack, got "cbor"');
  });

  it("takes a client id the protocol accepts", () => {
    expect(parseClientId("ops.laptop:1")).toBe("ops.laptop:1");
    expect(usage(() => parseClientId("bad id!"))).toBe(
      '--client-id must match ^[A-Za-z0-9_.:-]{1,128}$, got "bad id!"',
    );
  });

  it("takes `Name: value` headers", () => {
    expect(parseHeaders(["Authorization: Bearer a:b"])).toEqual({ Authorization: "Bearer a:b" });
    expect(usage(() => parseHeaders([": x"]))).toBe('--header expects "Name: value", got ": x"');
  });
});
