import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { exposureWarnings, isLoopback } from "../src/exposure.js";
import { resolveOptions } from "../src/options.js";
import { captureLogs, createDisposer, startServer } from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

const at = (address: string, family = "IPv4"): AddressInfo => ({ address, family, port: 8765 });
const warningsOf = (lines: readonly Record<string, unknown>[]) =>
  lines.filter((line) => line.level === 40).map((line) => String(line.msg));

describe("isLoopback", () => {
  it("knows 127.0.0.0/8, ::1 and their IPv4-mapped form", () => {
    for (const address of ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"]) {
      expect(isLoopback(address)).toBe(true);
    }
    for (const address of ["0.0.0.0", "::", "10.0.0.5", "::ffff:10.0.0.5", "128.0.0.1"]) {
      expect(isLoopback(address)).toBe(false);
    }
  });
});

describe("exposureWarnings", () => {
  const open = resolveOptions({ status: { enabled: true } });

  it("says nothing on a loopback address, a pipe, or a server not listening", () => {
    expect(exposureWarnings(open, at("127.0.0.1"))).toEqual([]);
    expect(exposureWarnings(open, at("::1", "IPv6"))).toEqual([]);
    expect(exposureWarnings(open, "/tmp/lifeline.sock")).toEqual([]);
    expect(exposureWarnings(open, null)).toEqual([]);
  });

  it("warns on a non-loopback address without authenticate and about an unguarded status endpoint", () => {
    const warnings = exposureWarnings(open, at("::", "IPv6"));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/listening on \[::\]:8765 with no authenticate hook/);
    expect(warnings[1]).toMatch(/status endpoint .* \[::\]:8765: pass status\.authorize/);
  });

  it("says nothing once authenticate and the status guard are given, or the endpoint is off", () => {
    const guarded = resolveOptions({
      authenticate: () => "user",
      status: { enabled: true, authorize: () => false },
    });
    expect(exposureWarnings(guarded, at("0.0.0.0"))).toEqual([]);
    const closed = resolveOptions({ authenticate: () => "user" });
    expect(exposureWarnings(closed, at("0.0.0.0"))).toEqual([]);
  });
});

describe("startup warnings", () => {
  it("are logged once, at warn, when the server listens on a non-loopback address", async () => {
    const logs = captureLogs();
    const s = await startServer({
      host: "0.0.0.0",
      status: { enabled: true },
      logger: logs.logger,
    });
    disposer.add(() => s.close({ drainTimeoutMs: 0 }));
    expect(warningsOf(logs.lines)).toEqual([
      expect.stringMatching(/^listening on 0\.0\.0\.0:\d+ with no authenticate hook/),
      expect.stringMatching(/^the status endpoint lists remote addresses/),
    ]);
  });

  it("are not logged on loopback", async () => {
    const logs = captureLogs();
    const s = await startServer({ status: { enabled: true }, logger: logs.logger });
    disposer.add(() => s.close({ drainTimeoutMs: 0 }));
    expect(warningsOf(logs.lines)).toEqual([]);
  });

  it("name an IPv6 wildcard address in brackets", async () => {
    const logs = captureLogs();
    const s = await startServer({ host: "::", status: { enabled: true }, logger: logs.logger });
    disposer.add(() => s.close({ drainTimeoutMs: 0 }));
    expect(warningsOf(logs.lines)).toEqual([
      `listening on [::]:${s.port} with no authenticate hook: anyone who reaches it connects, with the client_id and role they choose`,
      `the status endpoint lists remote addresses and client ids to anyone who reaches [::]:${s.port}: pass status.authorize`,
    ]);
  });

  it("wait for an attached server to listen, and come once even if it listens again", async () => {
    const logs = captureLogs();
    const http = createHttpServer();
    disposer.add(() => new Promise((resolve) => http.close(resolve)));
    const s = await startServer({ server: http, status: { enabled: true }, logger: logs.logger });
    disposer.add(() => s.close({ drainTimeoutMs: 0 }));
    expect(warningsOf(logs.lines)).toEqual([]);
    const listen = () => new Promise<void>((resolve) => http.listen(0, "::", resolve));
    await listen();
    expect(warningsOf(logs.lines)).toEqual([
      expect.stringMatching(/^listening on \[::\]:\d+ with no authenticate hook/),
      expect.stringMatching(/^the status endpoint lists remote addresses .* \[::\]:\d+/),
    ]);
    await new Promise((resolve) => http.close(resolve));
    await listen();
    expect(warningsOf(logs.lines)).toHaveLength(2);
  });

  it("come at once for an attached server that already listens, and not for a guarded one", async () => {
    const http = createHttpServer();
    await new Promise<void>((resolve) => http.listen(0, "0.0.0.0", resolve));
    disposer.add(() => new Promise((resolve) => http.close(resolve)));
    const open = captureLogs();
    const exposed = await startServer({ server: http, logger: open.logger });
    await exposed.close({ drainTimeoutMs: 0 });
    expect(warningsOf(open.lines)).toEqual([
      expect.stringMatching(/^listening on 0\.0\.0\.0:\d+ with no authenticate hook/),
    ]);
    const guarded = captureLogs();
    const quiet = await startServer({
      server: http,
      authenticate: () => "user",
      status: { enabled: true, authorize: () => true },
      logger: guarded.logger,
    });
    disposer.add(() => quiet.close({ drainTimeoutMs: 0 }));
    expect(warningsOf(guarded.lines)).toEqual([]);
  });

  it("stop waiting once the server is closed before its attached server listens", async () => {
    const logs = captureLogs();
    const http = createHttpServer();
    disposer.add(() => new Promise((resolve) => http.close(resolve)));
    const s = await startServer({ server: http, logger: logs.logger });
    await s.close({ drainTimeoutMs: 0 });
    await new Promise<void>((resolve) => http.listen(0, "0.0.0.0", resolve));
    expect(warningsOf(logs.lines)).toEqual([]);
  });
});
