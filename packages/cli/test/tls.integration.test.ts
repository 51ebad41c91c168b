import { readFileSync } from "node:fs";
import type { Server as HttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createServer } from "@lifeline/server";
import { captureLogs, createDisposer, QUICK_CLOSE } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

/** A self-signed certificate for 127.0.0.1 and localhost, valid 2000-2100 (test use only). */
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A Lifeline server behind TLS on 127.0.0.1: `wss://` for the socket, `https://` for /health. */
async function startTlsServer(): Promise<number> {
  const https = createHttpsServer({
    cert: readFileSync(fixture("tls-cert.pem")),
    key: readFileSync(fixture("tls-key.pem")),
  });
  const lifeline = await createServer({
    server: https as unknown as HttpServer,
    logger: captureLogs().logger,
  });
  disposer.add(async () => {
    await lifeline.close(QUICK_CLOSE);
    await new Promise((resolve) => https.close(resolve));
  });
  lifeline.method("echo", (params) => params);
  https.on("request", (request, response) => {
    if (lifeline.handleHttp(request, response)) return;
    response.statusCode = 404;
    response.end();
  });
  await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
  return (https.address() as AddressInfo).port;
}

describe("https:// and wss:// URLs", () => {
  it("speak TLS to a server whose certificate is trusted, and exit 2 naming it when not", async () => {
    const port = await startTlsServer();
    const trust = { NODE_EXTRA_CA_CERTS: fixture("tls-cert.pem") };

    const status = await runCli(["status", `https://127.0.0.1:${port}`, "-q"], 20_000, trust);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^url {9}wss://127\\.0\\.0\\.1:${port}/ws$`, "m"));
    expect(status.stdout).toMatch(/^health {6}ok \(HTTP 200\)/m);

    const url = `wss://127.0.0.1:${port}/ws`;
    const request = await runCli(["request", url, "echo", "[1]", "-q"], 20_000, trust);
    expect(request).toEqual({ code: 0, stdout: "[1]\n", stderr: "" });

    const untrusted = await runCli(["request", url, "echo", "--timeout", "1500", "-q"]);
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toMatch(
      new RegExp(
        `^lifeline: could not connect to ${url} within 1500 ms \\(last: .*certificate.*\\)\\n$`,
      ),
    );
  });
});
