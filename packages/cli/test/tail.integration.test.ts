import { createServer, type LifelineServer } from "@lifeline/server";
import { createDisposer, startServer, type TestServer, within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, startCli } from "./support/cli.js";
import { subscribed } from "./support/server.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

interface Line {
  readonly topic: string;
  readonly offset: number;
  readonly epoch: string;
  readonly data: unknown;
}

const lines = (stdout: string): Line[] =>
  stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line);

describe("lifeline tail", () => {
  it("follows a topic across a server restart: consecutive offsets, no duplicate, the epoch change on stderr", async () => {
    const first: TestServer<LifelineServer> = await startServer(createServer, {});
    let current = first;
    disposer.add(() => current.close());
    const firstSubscribed = subscribed(first.server, "t/ticks");
    const cli = startCli(["tail", first.url, "t/ticks", "--count", "6", "--json"]);
    disposer.add(() => cli.kill());
    await within(firstSubscribed, "the tail's subscription", 15_000);
    for (let n = 1; n <= 3; n++) await first.server.publish("t/ticks", { n });
    await cli.waitFor("stdout", /(?:.*\n){3}/, "three lines");

    await first.close();
    // The same port, a fresh in-memory broker: offsets start again in a new epoch.
    const second = await startServer(createServer, { port: first.port });
    current = second;
    await within(subscribed(second.server, "t/ticks"), "the tail's resubscription", 15_000);
    for (let n = 4; n <= 6; n++) await second.server.publish("t/ticks", { n });

    const run = await within(cli.exited, "tail --count 6 to exit", 15_000);
    expect(run.code).toBe(0);
    const printed = lines(run.stdout);
    expect(printed.map((line) => line.data)).toEqual([1, 2, 3, 4, 5, 6].map((n) => ({ n })));
    const epochs = [...new Set(printed.map((line) => line.epoch))];
    expect(epochs).toHaveLength(2);
    for (const epoch of epochs) {
      const offsets = printed.filter((line) => line.epoch === epoch).map((line) => line.offset);
      expect(offsets).toHaveLength(3);
      offsets.forEach((offset, i) => {
        if (i > 0) expect(offset).toBe(offsets[i - 1]! + 1);
      });
    }
    expect(new Set(printed.map((line) => `${line.epoch}:${line.offset}`)).size).toBe(6);
    expect(run.stderr).toMatch(
      new RegExp(`gap on t/ticks: epoch_changed, was at ${printed[2]!.offset}:${epochs[0]}`),
    );
    expect(run.stderr).toMatch(/-> reconnecting: 1012 service_restart/);
  });

  it("prints `topic offset:epoch data` without --json and stops after --count", async () => {
    const server = await startServer(createServer, {});
    disposer.add(() => server.close());
    const active = subscribed(server.server, "a");
    const cli = startCli(["tail", server.url, "a", "b", "-n", "2", "--quiet"]);
    disposer.add(() => cli.kill());
    await within(active, "the subscription to a", 15_000);
    await server.server.publish("a", "one");
    await server.server.publish("a", [2]);
    const run = await within(cli.exited, "tail -n 2 to exit", 15_000);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^a 1:\S+ "one"\na 2:\S+ \[2\]\n$/);
    expect(run.stderr).toBe("");
  });
});

describe("lifeline tail, stopped", () => {
  it("exits 130 on Ctrl-C (SIGINT) after closing its connection", async () => {
    const server = await startServer(createServer, {});
    disposer.add(() => server.close());
    const active = subscribed(server.server, "t");
    const cli = startCli(["tail", server.url, "t"]);
    disposer.add(() => cli.kill());
    await within(active, "the subscription", 15_000);
    cli.child.kill("SIGINT");
    const run = await within(cli.exited, "tail to exit after SIGINT", 10_000);
    expect(run.code).toBe(130);
  });
});

describe("lifeline tail | head", () => {
  it("exits 141 without a stack trace once stdout's reader has gone", async () => {
    const server = await startServer(createServer, {});
    disposer.add(() => server.close());
    const active = subscribed(server.server, "t");
    const cli = startCli(["tail", server.url, "t", "-q"]);
    disposer.add(() => cli.kill());
    await within(active, "the subscription", 15_000);
    await server.server.publish("t", 1);
    await cli.waitFor("stdout", /^t 1:\S+ 1\n$/, "the first line");
    // What `head -1` does once it has its line: close its end of the pipe.
    cli.child.stdout?.destroy();
    await server.server.publish("t", 2);
    const run = await within(cli.exited, "tail to exit on a closed stdout", 10_000);
    expect(run.code).toBe(141);
    expect(run.stderr).toBe("");
  });
});

describe("lifeline tail, start positions", () => {
  async function withFive(options: object = {}) {
    const server = await startServer(createServer, options);
    disposer.add(() => server.close());
    let epoch = "";
    for (let n = 1; n <= 5; n++) epoch = (await server.server.publish("t", n)).epoch;
    return { server, epoch };
  }

  it("--since offset:epoch replays what follows that position", async () => {
    const { server, epoch } = await withFive();
    const args = ["tail", server.url, "t", "--since", `2:${epoch}`, "-n", "3", "--json"];
    const run = await runCli(args);
    expect(run.code).toBe(0);
    expect(lines(run.stdout).map((line) => [line.offset, line.data])).toEqual([
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
    expect(run.stderr).not.toMatch(/gap/);
  });

  it("--since from another epoch reports the gap and starts at the head", async () => {
    const { server } = await withFive();
    const cli = startCli(["tail", server.url, "t", "--since", "2:gone", "-n", "1", "-q"]);
    disposer.add(() => cli.kill());
    await cli.waitFor("stderr", /^gap on t: epoch_changed, was at 2:gone, resumed at 5:/m, "gap");
    await server.server.publish("t", 6);
    const run = await within(cli.exited, "tail -n 1 to exit", 15_000);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^t 6:\S+ 6\n$/);
  });

  it("--rewind N starts with the last N retained messages", async () => {
    const { server } = await withFive();
    const run = await runCli(["tail", server.url, "t", "--rewind", "2", "-n", "2", "--json"]);
    expect(run.code).toBe(0);
    expect(lines(run.stdout).map((line) => line.offset)).toEqual([4, 5]);
  });

  it("exits 1 when the server refuses the rewind", async () => {
    const { server } = await withFive({ limits: { maxRewind: 3 } });
    const run = await runCli(["tail", server.url, "t", "--rewind", "10", "-q"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^lifeline: subscribe to t refused: invalid_message: .+\n$/);
  });
});
