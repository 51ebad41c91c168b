import { createServer, type LifelineServer } from "@lifeline/server";
import { createDisposer, startServer, type TestServer, within } from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli } from "./support/cli.js";
import { subscribed } from "./support/server.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

let open: TestServer<LifelineServer>;
beforeAll(async () => {
  open = await startServer(createServer, {});
  open.server.method("echo", (params) => params);
});
afterAll(() => open.close());

describe("--transport and --codec", () => {
  it("status names the wire and the codec the connection uses", async () => {
    const sse = await runCli(["status", open.url, "--transport", "sse", "-q"]);
    expect(sse.code).toBe(0);
    expect(sse.stdout).toMatch(/^transport {3}sse, codec json$/m);
    const msgpack = await runCli(["status", open.url, "--codec", "msgpack", "-q"]);
    expect(msgpack.code).toBe(0);
    expect(msgpack.stdout).toMatch(/^transport {3}websocket, codec msgpack$/m);
    const plain = await runCli(["status", open.url, "-q"]);
    expect(plain.stdout).toMatch(/^transport {3}websocket, codec json$/m);
  });

  it("request travels over SSE alone when asked, as the server counts it", async () => {
    const fresh = await startServer(createServer, {});
    disposer.add(() => fresh.close());
    fresh.server.method("echo", (params) => params);
    const run = await runCli([
      "request",
      fresh.url,
      "echo",
      '{"over":"sse"}',
      "--transport",
      "sse",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('{"over":"sse"}\n');
    const wires = fresh.server.stats().connections.byWire;
    expect(wires.map(({ transport, codec, total }) => ({ transport, codec, total }))).toEqual([
      { transport: "sse", codec: "json", total: 1 },
    ]);
  });

  it("tail prints bytes as base64, the same line whichever codec carried them", async () => {
    const lines: string[] = [];
    for (const codec of ["json", "msgpack"]) {
      const active = subscribed(open.server, `bytes/${codec}`);
      const cli = startCli(["tail", open.url, `bytes/${codec}`, "--codec", codec, "-n", "1", "-q"]);
      disposer.add(() => cli.kill());
      await within(active, `the ${codec} tail's subscription`, 15_000);
      await open.server.publish(`bytes/${codec}`, { raw: new Uint8Array([1, 2, 3]) });
      const run = await within(cli.exited, `the ${codec} tail to exit`, 15_000);
      expect(run.code).toBe(0);
      lines.push(run.stdout.replace(/ \d+:\S+ /, " "));
    }
    expect(lines).toEqual(['bytes/json {"raw":"AQID"}\n', 'bytes/msgpack {"raw":"AQID"}\n']);
  });
});
