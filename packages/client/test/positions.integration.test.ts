import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ResumePoint } from "@lifeline/protocol";
import { createMemoryBroker, createServer, type LifelineServer } from "@lifeline/server";
import { createDisposer, within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import type { LifelineClient } from "../src/api.js";
import type { GapEvent } from "../src/delivery/subscribe-options.js";
import { createClient, filePositions } from "../src/node.js";
import type { ClientOptions } from "../src/options.js";
import type { PositionStore } from "../src/positions/keeper.js";
import { fakeLifecycle } from "./helpers/setup.js";
import { testClient } from "./helpers/test-client.js";
import { Collector, waitForState } from "./helpers/wait.js";

// Positions that survive the client (README, "Positions that survive a restart"): a new
// client instance, reading what the closed one saved, resumes with `since` against the
// real server over real sockets. The client's timers run on a manual clock, so a save
// happens only when a test moves it (or on close).

const disposer = createDisposer();
afterEach(() => disposer.run());

type ServerOptions = NonNullable<Parameters<typeof createServer>[0]>;

async function server(options: ServerOptions = {}): Promise<LifelineServer> {
  const s = await createServer({ port: 0, logger: false, ...options });
  s.method("echo", (params) => params);
  disposer.add(() => s.close({ reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 }));
  return s;
}

function client(port: number, options: Partial<ClientOptions> = {}) {
  return testClient(`ws://127.0.0.1:${port}/ws`, disposer.add, {
    clientId: "resuming",
    role: "test",
    ...options,
  });
}

/** Subscribes from the stored position and collects `n` and the gaps. */
async function follow(c: LifelineClient, topic: string) {
  const seen = new Collector<number>();
  const gaps = new Collector<GapEvent>();
  c.subscribe(topic, (n) => seen.push(n as number), { from: "stored", onGap: gaps.push });
  await waitForState(c, "open");
  // Answered after the subscribe, which the server handles first.
  await c.request("echo", null);
  return { seen, gaps };
}

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "lifeline-positions-"));
  disposer.add(() => rm(dir, { recursive: true, force: true }));
  return join(dir, "state", "positions.json");
}

/** Publishes 1, 2, 3... to `topic` every 2 ms, in order, until stopped (at most 20,000). */
function keepPublishing(s: LifelineServer, topic: string) {
  let published = 0;
  let chain = Promise.resolve();
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const timer = setInterval(() => {
    if (published >= 20_000) return;
    chain = chain.then(async () => {
      published += 1;
      await s.publish(topic, published);
      for (const w of waiters.splice(0)) {
        if (published >= w.count) w.resolve();
        else waiters.push(w);
      }
    });
  }, 2);
  const stop = async () => {
    clearInterval(timer);
    await chain;
  };
  disposer.add(stop);
  return {
    stop,
    /** Resolves once `count` messages were published in all. */
    reach: (count: number) =>
      new Promise<void>((resolve) => {
        if (published >= count) resolve();
        else waiters.push({ count, resolve });
      }),
    get published() {
      return published;
    },
  };
}

const resumeProcess = fileURLToPath(new URL("./fixtures/resume-process.ts", import.meta.url));

/** Runs the client process until it exits after `count` ticks; its ticks and gap lines. */
async function runClientProcess(url: string, file: string, count: number) {
  const child = spawn(
    process.execPath,
    ["--conditions=@lifeline/source", "--import", "tsx", resumeProcess, url, file, String(count)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  disposer.add(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const code = await within(
    new Promise<number | null>((resolve) => child.once("close", resolve)),
    `the client process to print ${count} ticks (stderr: ${stderr})`,
    20_000,
  );
  expect(code, stderr).toBe(0);
  const lines = (text: string) => text.split("\n").filter((line) => line !== "");
  return {
    ticks: lines(stdout).map(Number),
    gaps: lines(stderr).filter((l) => l.startsWith("gap")),
  };
}

describe("positions that survive the client", () => {
  it("a new client with the file store resumes after the closed one: no gap, no duplicate, while the server keeps publishing", async () => {
    const s = await server({ history: { maxMessages: 20_000, maxAgeMs: 300_000 } });
    const path = await tempFile();
    const ticks = keepPublishing(s, "ticks");

    const first = client(s.port, { positions: filePositions(path) });
    const before = await follow(first.client, "ticks");
    await within(before.seen.waitFor(30), "30 ticks to the first client");
    first.client.close();
    const lastSeen = before.seen.items.at(-1) ?? 0;
    const saved = JSON.parse(await readFile(path, "utf8")) as {
      topics: Record<string, ResumePoint>;
    };
    expect(saved.topics.ticks?.offset).toBe(lastSeen);

    // Published while no client runs: the next one must get these from history.
    await within(ticks.reach(ticks.published + 20), "20 ticks with no client");
    const second = client(s.port, { positions: filePositions(path), clientId: "restarted" });
    const after = await follow(second.client, "ticks");
    await within(after.seen.waitFor(60), "60 ticks to the second client");
    await ticks.stop();

    const all = [...before.seen.items, ...after.seen.items];
    expect(after.seen.items[0]).toBe(lastSeen + 1);
    expect(all).toEqual(
      Array.from({ length: all.length }, (_, i) => (before.seen.items[0] ?? 0) + i),
    );
    expect(after.gaps.items).toEqual([]);
    expect(second.client.stats()).toMatchObject({ gaps: 0, duplicatesDropped: 0 });
  });

  it("a restarted client process resumes from the file the exited one saved: no gap, no duplicate, while the server keeps publishing", async () => {
    // History for every tick the publisher can send (at 2 ms each, the default 1,000 last
    // 2 s, less than a loaded machine may take to start a process): a gap must be a bug.
    const s = await server({ history: { maxMessages: 20_000, maxAgeMs: 300_000 } });
    const path = await tempFile();
    const ticks = keepPublishing(s, "ticks");
    const first = await runClientProcess(`ws://127.0.0.1:${s.port}/ws`, path, 20);
    // Published while no client process runs.
    await within(ticks.reach(ticks.published + 10), "10 ticks with no client");
    const second = await runClientProcess(`ws://127.0.0.1:${s.port}/ws`, path, 30);
    await ticks.stop();
    expect(first.gaps).toEqual([]);
    expect(second.gaps).toEqual([]);
    const all = [...first.ticks, ...second.ticks];
    expect(all).toHaveLength(50);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => (first.ticks[0] ?? 0) + i));
  }, 30_000);

  it("reports precisely what was lost when history no longer reaches the stored position", async () => {
    const s = await server({ history: { maxMessages: 10, maxAgeMs: 300_000 } });
    const path = await tempFile();
    const first = client(s.port, { positions: filePositions(path) });
    const before = await follow(first.client, "ticks");
    for (let n = 1; n <= 5; n++) await s.publish("ticks", n);
    await within(before.seen.waitFor(5), "5 ticks");
    first.client.close();

    // 6..50 while no client runs; the server keeps 41..50.
    for (let n = 6; n <= 50; n++) await s.publish("ticks", n);
    const second = client(s.port, { positions: filePositions(path) });
    const after = await follow(second.client, "ticks");
    await within(after.gaps.waitFor(1), "the gap");
    await within(after.seen.waitFor(10), "the retained 10");
    expect(after.gaps.items).toEqual([
      expect.objectContaining({
        topic: "ticks",
        reason: "history_expired",
        since: { offset: 5, epoch: expect.any(String) },
        lost: { epoch: expect.any(String), fromOffset: 6, toOffset: 40 },
      }),
    ]);
    expect(after.seen.items).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);
  });

  it("reports an epoch change when the stored position belongs to a server that lost its history", async () => {
    const broker = createMemoryBroker();
    const first = await server({ broker });
    const path = await tempFile();
    const a = client(first.port, { positions: filePositions(path) });
    const before = await follow(a.client, "ticks");
    for (let n = 1; n <= 3; n++) await first.publish("ticks", n);
    await within(before.seen.waitFor(3), "3 ticks");
    a.client.close();
    await broker.close();

    const fresh = await server();
    await fresh.publish("ticks", 100);
    const b = client(fresh.port, { positions: filePositions(path) });
    const after = await follow(b.client, "ticks");
    await within(after.gaps.waitFor(1), "the gap");
    await fresh.publish("ticks", 101);
    await within(after.seen.waitFor(1), "a live tick");
    expect(after.gaps.items).toMatchObject([
      { reason: "epoch_changed", since: { offset: 3 }, resumedAt: { offset: 1 } },
    ]);
    expect(after.seen.items).toEqual([101]);
  });
});

/** An application's own store: a map behind promises, as IndexedDB or AsyncStorage would be. */
function asyncStore(initial: Record<string, ResumePoint> = {}) {
  const data = new Map(Object.entries(initial));
  const sets: Array<[string, ResumePoint]> = [];
  let flushes = 0;
  const store: PositionStore = {
    get: async (topic) => data.get(topic),
    set: async (topic, position) => {
      sets.push([topic, position]);
      data.set(topic, position);
    },
    flush: () => {
      flushes += 1;
    },
  };
  return {
    store,
    data,
    sets,
    get flushes() {
      return flushes;
    },
  };
}

describe("an application's positions store", () => {
  it("resumes from an asynchronous get and saves through set", async () => {
    const s = await server();
    for (let n = 1; n <= 8; n++) await s.publish("ticks", n);
    const head = await s.publish("ticks", 9);
    const app = asyncStore({ ticks: { offset: 6, epoch: head.epoch } });
    const { client: c } = client(s.port, { positions: app.store });
    const { seen, gaps } = await follow(c, "ticks");
    await within(seen.waitFor(3), "the replay after the stored offset");
    expect(seen.items).toEqual([7, 8, 9]);
    c.close();
    expect(app.data.get("ticks")).toEqual({ offset: 9, epoch: head.epoch });
    expect(app.flushes).toBe(1);
    expect(gaps.items).toEqual([]);
  });

  it("ignores a stored value that is not a position, and a store that throws", async () => {
    const s = await server();
    await s.publish("a", 1);
    await s.publish("b", 1);
    const warnings: string[] = [];
    const store: PositionStore = {
      get: (topic) => {
        if (topic === "a") return { offset: -1, epoch: "" } as ResumePoint;
        throw new Error("disk on fire");
      },
      set: () => {
        throw new Error("still on fire");
      },
    };
    const { client: c, clock } = client(s.port, {
      positions: store,
      logLevel: "warn",
      logger: (record) => warnings.push(record.message),
    });
    const a = await follow(c, "a");
    const b = await follow(c, "b");
    await s.publish("a", 2);
    await s.publish("b", 2);
    await within(a.seen.waitFor(1), "a live message on a");
    await within(b.seen.waitFor(1), "a live message on b");
    clock.advance(1000);
    expect(a.seen.items).toEqual([2]);
    expect(b.seen.items).toEqual([2]);
    expect(warnings).toEqual(
      expect.arrayContaining([
        "ignored a stored position that is not {offset, epoch}",
        "the positions store failed to read",
        "the positions store failed to save",
      ]),
    );
  });

  it("throws at subscribe when from: stored is asked of a client without a store", async () => {
    const s = await server();
    const { client: c } = client(s.port);
    expect(() => c.subscribe("a", () => {}, { from: "stored" })).toThrow(/no "positions" store/);
  });

  it("saves at most once per positionsSaveMs, with the latest position, and on close", async () => {
    const s = await server();
    const app = asyncStore();
    const { client: c, clock } = client(s.port, { positions: app.store, positionsSaveMs: 1000 });
    const { seen } = await follow(c, "ticks");
    // The subscription went live at offset 0: a move, saved with the first batch.
    let last = { offset: 0, epoch: "" };
    for (let n = 1; n <= 50; n++) last = await s.publish("ticks", n);
    await within(seen.waitFor(50), "50 ticks");
    expect(app.sets).toEqual([]);
    clock.advance(999);
    expect(app.sets).toEqual([]);
    clock.advance(1);
    expect(app.sets).toEqual([["ticks", { offset: 50, epoch: last.epoch }]]);

    for (let n = 51; n <= 60; n++) last = await s.publish("ticks", n);
    await within(seen.waitFor(60), "60 ticks");
    clock.advance(500);
    expect(app.sets).toHaveLength(1);
    clock.advance(500);
    expect(app.sets.at(-1)).toEqual(["ticks", { offset: 60, epoch: last.epoch }]);
    expect(app.sets).toHaveLength(2);

    // Nothing moved: no timer, no save.
    clock.advance(5000);
    expect(app.sets).toHaveLength(2);
    last = await s.publish("ticks", 61);
    await within(seen.waitFor(61), "61 ticks");
    c.close();
    expect(app.sets).toHaveLength(3);
    expect(app.sets.at(-1)).toEqual(["ticks", { offset: 61, epoch: last.epoch }]);
  });

  it("saves at once when the page is hidden, without waiting for the batch", async () => {
    const s = await server();
    const app = asyncStore();
    const page = fakeLifecycle();
    const { client: c } = client(s.port, { positions: app.store, lifecycle: page.lifecycle });
    const { seen } = await follow(c, "ticks");
    const last = await s.publish("ticks", 1);
    await within(seen.waitFor(1), "a tick");
    page.becomeHidden();
    expect(app.sets).toEqual([["ticks", { offset: 1, epoch: last.epoch }]]);
    expect(app.flushes).toBe(1);
  });

  it("needs a clientId of the application's for positions: true under Node", async () => {
    expect(() => createClient({ url: "ws://127.0.0.1:1/ws", positions: true, lazy: true })).toThrow(
      /needs a "clientId" of your own/,
    );
    expect(() =>
      createClient({ url: "ws://127.0.0.1:1/ws", positions: {} as PositionStore, lazy: true }),
    ).toThrow(/get\(topic\) and set\(topic, position\)/);
  });

  it("saves nothing for a subscription that starts from the head", async () => {
    const s = await server();
    const app = asyncStore();
    const { client: c, clock } = client(s.port, { positions: app.store });
    const seen = new Collector<number>();
    c.subscribe("ticks", (n) => seen.push(n as number));
    await waitForState(c, "open");
    await c.request("echo", null);
    await s.publish("ticks", 1);
    await within(seen.waitFor(1), "a tick");
    clock.advance(1000);
    c.close();
    expect(app.sets).toEqual([]);
  });
});
