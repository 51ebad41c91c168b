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
    await pane.waitForScreen(/^rtt \d+ ms /m, "a measured round trip");
    const opened = await pane.waitForScreen(/^t\/ticks +\S+ +- +0 {2}-$/m, "the topic row");
    for (const line of opened.split("\n")) expect([...line].length).toBeLessThanOrEqual(80);
    expect(opened).toMatch(/q quit {2}r reconnect {2}p pause/);
    await server.server.publish("t/ticks", 1);
    await server.server.publish("t/ticks", 2);
    await pane.waitForScreen(/^t\/ticks +\d+\.\d +2 +0 {2}\S+$/m, "last offset 2 in the topic row");

    // A burst of messages, each one changing the topic row (row 6): the screen is redrawn at
    // most once per 100 ms however fast they come, so the row is written no more often.
    const startedAt = Date.now();
    const stopRecording = await pane.recordOutput();
    for (let n = 3; n <= 1000; n++) await server.server.publish("t/ticks", n);
    await pane.waitForScreen(/^t\/ticks +\d+\.\d +1000 +0 {2}\S+$/m, "last offset 1000");
    const written = await stopRecording();
    const elapsedMs = Date.now() - startedAt;
    const topicRowWrites = written.split("\u001b[6;1Ht/ticks").length - 1;
    expect(topicRowWrites).toBeGreaterThan(0);
    expect(topicRowWrites).toBeLessThanOrEqual(Math.floor(elapsedMs / 100) + 1);

    // A smaller terminal: the frame is redrawn to its size, the keys on its last row.
    await pane.resize(60, 16);
    const small = (await pane.waitForScreen(/^── events ─{50}$/m, "a 60x16 frame")).split("\n");
    expect(small[0]).toMatch(/^● open {2}up \d+s/);
    expect(small.indexOf("q quit  r reconnect  p pause")).toBe(15);
    await pane.resize(80, 24);
    await pane.waitForScreen(/^── events ─{70}$/m, "the 80x24 frame again");

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
