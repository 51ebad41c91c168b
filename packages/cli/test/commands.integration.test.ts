import { AuthError, createMemoryBroker, createServer, type LifelineServer } from "@lifeline/server";
import {
  createDisposer,
  freePort,
  startServer,
  type TestServer,
  withSettableHealth,
} from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

let open: TestServer<LifelineServer>;
beforeAll(async () => {
  // Clients may publish here: by default a server refuses client publishes (forbidden).
  open = await startServer(createServer, { authorize: () => true });
  open.server.method("echo", (params) => params);
  open.server.method("fail", () => {
    throw new Error("no");
  });
  open.server.method("never", () => new Promise(() => {}));
});
afterAll(() => open.close());

describe("lifeline request", () => {
  it("prints the result as one line of JSON and exits 0", async () => {
    const run = await runCli(["request", open.url, "echo", '{"a":[1,2]}', "--quiet"]);
    expect(run).toEqual({ code: 0, stdout: '{"a":[1,2]}\n', stderr: "" });
  });

  it("maps http:// to ws:// and adds /ws", async () => {
    const run = await runCli(["request", `http://127.0.0.1:${open.port}`, "echo", "7", "-q"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("7\n");
  });

  it("prints a failed response's code and message on stderr and exits 1", async () => {
    const run = await runCli(["request", open.url, "nope", "-q"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^lifeline: unknown_method: .+\n$/);
  });

  it("exits 2 when the response does not come within --timeout", async () => {
    const run = await runCli(["request", open.url, "never", "--timeout", "500", "-q"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("lifeline: no answer within 500 ms\n");
  });

  it("exits 2 when nothing listens, naming the last failure", async () => {
    const port = await freePort();
    const run = await runCli(["request", `ws://127.0.0.1:${port}/ws`, "echo", "--timeout", "800"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/-> reconnecting: .*ECONNREFUSED/);
    expect(run.stderr).toMatch(
      new RegExp(
        `lifeline: could not connect to ws://127.0.0.1:${port}/ws within 800 ms \\(last: .*ECONNREFUSED`,
      ),
    );
  });
});

describe("lifeline publish", () => {
  it("prints the ack {topic, offset, epoch}", async () => {
    const run = await runCli(["publish", open.url, "notes/cli", '{"text":"hi"}', "-q"]);
    expect(run.code).toBe(0);
    const ack = JSON.parse(run.stdout) as unknown;
    expect(ack).toEqual({
      topic: "notes/cli",
      offset: expect.any(Number),
      epoch: expect.any(String),
    });
    expect(Object.keys(ack as object)).toEqual(["topic", "offset", "epoch"]);
  });

  it("exits 1 with forbidden when the server does not let clients publish", async () => {
    const closed = await startServer(createServer, {});
    disposer.add(() => closed.close());
    const run = await runCli(["publish", closed.url, "notes/cli", "1", "-q"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^lifeline: forbidden: .+\n$/);
  });
});

describe("lifeline status", () => {
  it("prints the hello and /health and exits 0 when healthy", async () => {
    const run = await runCli(["status", `http://127.0.0.1:${open.port}/`, "-q"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^connection {2}\S+$/m);
    expect(run.stdout).toMatch(/^features {4}.+$/m);
    expect(run.stdout).toMatch(/^heartbeat {3}every \d+ ms$/m);
    expect(run.stdout).toMatch(/^health {6}ok \(HTTP 200\) \{.*"status":"ok"/m);
  });

  it("prints /health and exits 1 when the server does not report ok", async () => {
    const sick = withSettableHealth(createMemoryBroker());
    sick.setHealth({ healthy: false, detail: "the broker is down for this test" });
    // The node keeps serving however long the outage lasts: /health alone says degraded.
    const brokerOutage = { closeAfterMs: Number.POSITIVE_INFINITY };
    const degraded = await startServer(createServer, { broker: sick, brokerOutage });
    disposer.add(() => degraded.close());
    const run = await runCli(["status", degraded.url, "-q"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^health {6}degraded \(HTTP 503\) \{.*the broker is down/m);
    expect(run.stderr).toBe(
      `http://127.0.0.1:${degraded.port}/health reports "degraded" (HTTP 503)\n`,
    );
  });

  it("exits 2 with the close code and its meaning when the handshake is refused", async () => {
    const guarded = await startServer(createServer, {
      authenticate: (_request: unknown, info: { token?: string | undefined }) => {
        if (info.token !== "good") throw new AuthError("invalid token");
        return "user";
      },
    });
    disposer.add(() => guarded.close());
    const refused = await runCli(["status", guarded.url, "--token", "bad", "-q"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      "lifeline: connection refused: 4401 unauthenticated (unauthenticated or invalid role): invalid token\n",
    );
    const accepted = await runCli(["status", guarded.url, "--token", "good", "-q"]);
    expect(accepted.code).toBe(0);
  });
});

describe("--client-id and --token", () => {
  it("reach the server's authenticate with the handshake", async () => {
    const seen: { clientId: string; token?: string | undefined }[] = [];
    const guarded = await startServer(createServer, {
      authenticate: (_request: unknown, info: { clientId: string; token?: string | undefined }) => {
        seen.push({ clientId: info.clientId, token: info.token });
        return "user";
      },
    });
    disposer.add(() => guarded.close());
    const args = ["status", guarded.url, "--client-id", "ops.laptop-1", "--token", "t0k3n", "-q"];
    const run = await runCli(args);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^client id {3}ops\.laptop-1$/m);
    expect(seen).toEqual([{ clientId: "ops.laptop-1", token: "t0k3n" }]);
  });
});

describe("--header", () => {
  it.each([
    ["websocket", "the upgrade"],
    ["sse", "the event stream and the posts"],
  ])("sends each header over %s, with %s", async (transport) => {
    const seen: (string | undefined)[] = [];
    const guarded = await startServer(createServer, {
      authenticate: (request: { headers: Record<string, string | string[] | undefined> }) => {
        const value = request.headers["x-team"];
        seen.push(typeof value === "string" ? value : undefined);
        if (value !== "ops") throw new AuthError("x-team must be ops");
        return "ops";
      },
    });
    disposer.add(() => guarded.close());
    guarded.server.method("who", () => "ok");
    const args = ["request", guarded.url, "who", "--transport", transport, "-q"];
    const run = await runCli([...args, "--header", "X-Team: ops"]);
    expect(run).toEqual({ code: 0, stdout: '"ok"\n', stderr: "" });
    expect(seen).toEqual(["ops"]);
    const refused = await runCli([...args, "--timeout", "3000"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^lifeline: connection refused: 4401 .*x-team must be ops\n$/);
  });
});
