import { createServer } from "@lifeline/server";
import { createDisposer, startServer, within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { startCli } from "./support/cli.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

describe("lifeline monitor without a terminal", () => {
  it("prints one line per event and exits 143 on SIGTERM", async () => {
    const server = await startServer(createServer, {});
    disposer.add(() => server.close());
    const cli = startCli(["monitor", server.url, "t"]);
    disposer.add(() => cli.kill());
    await cli.waitFor("stdout", /^\S+ state connecting -> open: the server said hello$/m, "open");
    const { port } = server;
    await server.close();
    await cli.waitFor("stdout", /^\S+ state open -> reconnecting: 1012 service_restart/m, "drop");
    const again = await startServer(createServer, { port });
    disposer.add(() => again.close());
    await cli.waitFor("stdout", /(?:connecting -> open[\s\S]*){2}/, "open again", 20_000);
    expect(cli.stdout).not.toContain("\u001b[");
    cli.child.kill("SIGTERM");
    const run = await within(cli.exited, "monitor to exit after SIGTERM", 10_000);
    expect(run.code).toBe(143);
  });
});
