import { createServer, type LifelineServer } from "@lifeline/server";
import { createDisposer, skipWithout, startServer, type TestServer } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { CLI_COMMAND, CLI_CWD } from "./support/cli.js";
import { startInTmux, tmuxAvailability } from "./support/tmux.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

describe.skipIf(skipWithout("tmux", tmuxAvailability()))("lifeline monitor in tmux", () => {
  it("shows ● while open, ◐ with a countdown while the server is down, ● again, and q exits 0", async () => {
    let server: TestServer<LifelineServer> = await startServer(createServer, {});
    disposer.add(() => server.close());
    const command = ["env", "NO_COLOR=1", ...CLI_COMMAND, "monitor", server.url, "t/ticks"]
      .map(quote)
      .join(" ");
    const pane = await startInTmux(command, CLI_CWD);
    disposer.add(() => pane.dispose());

    await pane.waitForScreen(/^● open {2}up \d+s/m, "● open");
    // The monitor pings once a second: the round trip replaces the dash.
    await pane.waitForScreen(/ rtt \d+ ms /, "a measured round trip");
    const opened = await pane.waitForScreen(/^t\/ticks +\S+ +- +0 {2}-$/m, "the topic row");
    for (const line of opened.split("\n")) expect([...line].length).toBeLessThanOrEqual(80);
    expect(opened).toMatch(/q quit {2}r reconnect {2}p pause/);
    await server.server.publish("t/ticks", 1);
    await server.server.publish("t/ticks", 2);
    await pane.waitForScreen(/^t\/ticks +\d+\.\d +2 +0 {2}\S+$/m, "last offset 2 in the topic row");

    const { port } = server;
    await server.close();
    const down = await pane.waitForScreen(
      /^◐ reconnecting {2}attempt \d+ {2}next try in \d+\.\ds/m,
      "◐ with a countdown",
    );
    expect(down).toMatch(/open -> reconnecting: 1012 service_restart/);

    server = await startServer(createServer, { port });
    await pane.waitForScreen(/^● open/m, "● open again");

    await pane.sendKeys("p");
    await pane.waitForScreen(/^PAUSED \(p resumes\)/m, "the paused footer");
    await pane.sendKeys("p");
    await pane.waitForScreen(/^q quit/m, "the footer without PAUSED");
    await pane.sendKeys("r");
    await pane.waitForScreen(
      /reconnect asked from the keyboard[\s\S]*-> open: the server said hello[\s\S]*^q quit/m,
      "open again after r",
    );
    await pane.waitForScreen(/^● open/m, "● open after r");

    await pane.sendKeys("q");
    expect(await pane.exitStatus()).toBe(0);
  });
});
