/**
 * Presence benchmark (PROTOCOL.md, "Presence"), Lifeline only, each figure against its
 * baseline in the same run:
 *
 * 1. Server CPU per subscribe and per unsubscribe on a topic with presence on vs off:
 *    `members` connections subscribe at once and then unsubscribe, with 20 watchers of the
 *    topic (`presence: true` when on) that receive the joins and leaves; a span ends when
 *    the watchers have them all, so the diffs are paid for. Medians of the rounds,
 *    alternating on and off; target: on <= 1.3x off.
 * 2. Reconnect storm on a presence topic: `clients` raw clients subscribed with
 *    `presence: true` lose the server (SIGKILL); a standby server process (booted already)
 *    listens on the same port and every client comes back after a random delay (0-1 s),
 *    subscribes again and asks for the members as PROTOCOL.md says. Measured: presence
 *    messages (presence_diff) per client until every client knows every member, and the
 *    new server's event-loop delay. Targets: O(ticks) messages per client (not O(clients)),
 *    event-loop delay max < 150 ms.
 *
 *   tsx src/presence/run.ts [--quick] [--source]    (bench:full runs it after run.ts)
 *
 * Writes bench/results/presence.json (bench/results/quick/ with --quick).
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    source: { type: "boolean", default: false },
    only: { type: "string" },
    "cpu-prof": { type: "string" },
  },
});
const params = args.quick
  ? { members: 200, watchers: 20, rounds: 3, storm: 500 }
  : { members: 1000, watchers: 20, rounds: 7, storm: 2000 };
const TOPIC = "bench/presence";
const STEP_TIMEOUT_MS = 60_000;

interface ServerProcess {
  call<T>(cmd: string, extra?: Record<string, unknown>): Promise<T>;
  kill(): Promise<void>;
  /** Asks it to exit (writing its CPU profile, if any). */
  stop(): Promise<void>;
}

async function spawnServer(): Promise<ServerProcess> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./server.ts", import.meta.url)), {
    execArgv: [
      ...(args.source ? ["--conditions=@lifeline/source"] : []),
      ...(args["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${args["cpu-prof"]}`] : []),
      "--import",
      "tsx",
    ],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const pending = new Map<
    number,
    (reply: { ok: boolean; result?: unknown; error?: string }) => void
  >();
  await bounded(
    new Promise<void>((resolve) => child.once("message", () => resolve())),
    "server process ready",
  );
  child.on("message", (message) => {
    const reply = message as { id: number; ok: boolean; result?: unknown; error?: string };
    pending.get(reply.id)?.(reply);
    pending.delete(reply.id);
  });
  let next = 0;
  return {
    call<T>(cmd: string, extra: Record<string, unknown> = {}) {
      const id = next++;
      const answered = new Promise<T>((resolve, reject) => {
        pending.set(id, (reply) =>
          reply.ok ? resolve(reply.result as T) : reject(new Error(reply.error)),
        );
      });
      child.send({ id, cmd, ...extra });
      return bounded(answered, `server ${cmd}`);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.send({ id: -1, cmd: "exit" });
        await bounded(exited, "server exit", 10_000).catch(() => child.kill("SIGKILL"));
      }
      await exited;
    },
  };
}

function bounded<T>(promise: Promise<T>, label: string, ms = STEP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A raw protocol connection that hands every frame to `onFrame`. */
function open(port: number, clientId: string, onFrame: (frame: Record<string, unknown>) => void) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?client_id=${clientId}&version=1&role=test`, [
    "lifeline.v1",
  ]);
  ws.on("message", (raw) => onFrame(JSON.parse(String(raw)) as Record<string, unknown>));
  ws.on("error", () => {});
  const hello = new Promise<void>((resolve, reject) => {
    ws.once("message", () => resolve());
    ws.once("close", () => reject(new Error(`${clientId} closed before hello`)));
  });
  return { ws, hello };
}

/** Resolves when `check()` holds, tested after each call of the returned `poke`. */
function condition(check: () => boolean, label: string) {
  let wake: (() => void) | undefined;
  const reached = check()
    ? Promise.resolve()
    : bounded(new Promise<void>((resolve) => (wake = resolve)), label);
  return {
    reached,
    poke: () => {
      if (wake && check()) {
        wake();
        wake = undefined;
      }
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;

/** Server CPU µs per subscribe and per unsubscribe, presence on or off. */
async function joinCost(presence: boolean): Promise<{ subscribe: number; unsubscribe: number }> {
  const server = await spawnServer();
  try {
    const { port } = await server.call<{ port: number }>("listen", { port: 0, presence });
    let joined = 0;
    let left = 0;
    let poke = () => {};
    const watchers = await Promise.all(
      Array.from({ length: params.watchers }, async (_, i) => {
        const c = open(port, `watcher-${i}`, (frame) => {
          if (frame.type !== "presence_diff" || i !== 0) return;
          joined += (frame.joins as unknown[]).length;
          left += (frame.leaves as unknown[]).length;
          poke();
        });
        await c.hello;
        c.ws.send(JSON.stringify({ type: "subscribe", id: "w", topic: TOPIC, presence }));
        return c;
      }),
    );
    let answered = 0;
    const members = await Promise.all(
      Array.from({ length: params.members }, async (_, i) => {
        const c = open(port, `member-${i}`, (frame) => {
          if (frame.type === "subscribed" || frame.type === "unsubscribed") {
            answered += 1;
            poke();
          }
        });
        await c.hello;
        return c;
      }),
    );
    const span = async (send: (ws: WebSocket) => void, done: () => boolean, label: string) => {
      const before = (await server.call<{ us: number }>("cpu")).us;
      const wait = condition(done, label);
      poke = wait.poke;
      for (const m of members) send(m.ws);
      await wait.reached;
      return ((await server.call<{ us: number }>("cpu")).us - before) / params.members;
    };
    // Watchers first see themselves (and each other) join.
    const watcherJoins = presence ? params.watchers : 0;
    const ready = condition(() => joined >= watcherJoins, "watchers joined");
    poke = ready.poke;
    await ready.reached;
    joined = 0;
    answered = 0;
    const subscribe = await span(
      (ws) => ws.send(JSON.stringify({ type: "subscribe", id: "s", topic: TOPIC })),
      () => answered >= params.members && (!presence || joined >= params.members),
      "every member subscribed (and seen)",
    );
    answered = 0;
    const unsubscribe = await span(
      (ws) => ws.send(JSON.stringify({ type: "unsubscribe", id: "u", topic: TOPIC })),
      () => answered >= params.members && (!presence || left >= params.members),
      "every member unsubscribed (and seen leaving)",
    );
    for (const c of [...watchers, ...members]) c.ws.terminate();
    return { subscribe, unsubscribe };
  } finally {
    await server.kill();
  }
}

interface StormResult {
  readonly clients: number;
  readonly diffsPerClientMedian: number;
  readonly diffsPerClientMax: number;
  readonly allKnowAllMs: number;
  readonly loopMaxMs: number;
  readonly loopP99Ms: number;
}

/**
 * The reconnect storm on a presence topic, server restarted (its members all join anew);
 * without presence (the baseline), the same storm with plain subscribes.
 */
async function presenceStorm(presence: boolean): Promise<StormResult> {
  const n = params.storm;
  const first = await spawnServer();
  const standby = await spawnServer();
  try {
    const { port } = await first.call<{ port: number }>("listen", { port: 0, presence });
    // Each client's members as one byte per client index: a diff may repeat what the
    // answer before it has (PROTOCOL.md), so members are a set, not a count.
    const clients = Array.from({ length: n }, (_, i) => ({
      id: `storm-${i}`,
      ws: undefined as WebSocket | undefined,
      members: new Uint8Array(n),
      known: 0,
      diffs: 0,
      syncing: false,
      /** Has had an answer to `presence` on its current connection. */
      synced: false,
    }));
    type Client = (typeof clients)[number];
    const indexOf = (member: unknown) =>
      Number((member as { client_id: string }).client_id.slice("storm-".length));
    const mark = (client: Client, member: unknown, present: number) => {
      const index = indexOf(member);
      client.known += present - (client.members[index] ?? 0);
      client.members[index] = present;
    };
    let storming = false;
    let everyoneKnows: { reached: Promise<void>; poke: () => void } = {
      reached: Promise.resolve(),
      poke: () => {},
    };
    const connect = (client: Client) => {
      const c = open(port, client.id, (frame) => {
        if (frame.type === "subscribed" && !presence) {
          client.synced = true;
          everyoneKnows.poke();
        } else if (frame.type === "subscribed") {
          client.syncing = true;
          c.ws.send(JSON.stringify({ type: "presence", id: "q", topic: TOPIC }));
        } else if (frame.type === "response" && frame.id === "q") {
          client.syncing = false;
          client.synced = true;
          client.members.fill(0);
          client.known = 0;
          for (const member of (frame.result as { members: unknown[] }).members) {
            mark(client, member, 1);
          }
          everyoneKnows.poke();
        } else if (frame.type === "presence_diff") {
          if (storming) client.diffs += 1;
          if (client.syncing) return;
          for (const member of frame.leaves as unknown[]) mark(client, member, 0);
          for (const member of frame.joins as unknown[]) mark(client, member, 1);
          everyoneKnows.poke();
        }
      });
      client.ws = c.ws;
      c.ws.once("close", () => {
        if (!storming) return;
        // Back after a random delay, as clients with jittered backoff would be.
        // A refused attempt (the standby not listening yet) closes too, and tries again.
        setTimeout(() => connect(client).catch(() => {}), Math.random() * 1000);
      });
      return c.hello.then(() =>
        c.ws.send(JSON.stringify({ type: "subscribe", id: "s", topic: TOPIC, presence })),
      );
    };
    for (let i = 0; i < n; i += 200) await Promise.all(clients.slice(i, i + 200).map(connect));
    const done = () => clients.every((c) => c.synced && (!presence || c.known === n));
    everyoneKnows = condition(done, "everyone knows everyone");
    await everyoneKnows.reached;
    for (const client of clients) client.synced = false;
    everyoneKnows = condition(done, "all back, all known");
    storming = true;
    await first.kill();
    await standby.call("loopStart");
    const acceptAt = Date.now();
    await standby.call("listen", { port, presence });
    await everyoneKnows.reached;
    const allKnowAllMs = Date.now() - acceptAt;
    const loop = await standby.call<{ maxMs: number; p99Ms: number }>("loopStop");
    storming = false;
    for (const client of clients) client.ws?.terminate();
    const diffs = clients.map((c) => c.diffs);
    return {
      clients: n,
      diffsPerClientMedian: median(diffs),
      diffsPerClientMax: Math.max(...diffs),
      allKnowAllMs,
      loopMaxMs: Math.round(loop.maxMs * 10) / 10,
      loopP99Ms: Math.round(loop.p99Ms * 10) / 10,
    };
  } finally {
    await first.kill();
    await standby.stop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const on: { subscribe: number; unsubscribe: number }[] = [];
  const off: { subscribe: number; unsubscribe: number }[] = [];
  const rounds = args.only === "storm" ? 0 : params.rounds;
  for (let round = 0; round < rounds; round += 1) {
    off.push(await joinCost(false));
    on.push(await joinCost(true));
    process.stdout.write(
      `round ${round + 1}: subscribe off ${off.at(-1)?.subscribe.toFixed(1)} µs, on ${on.at(-1)?.subscribe.toFixed(1)} µs\n`,
    );
  }
  const cost = (list: typeof on, key: "subscribe" | "unsubscribe") =>
    Math.round(median(list.map((r) => r[key])) * 10) / 10;
  const join = {
    members: params.members,
    watchers: params.watchers,
    rounds: params.rounds,
    subscribeOffUs: cost(off, "subscribe"),
    subscribeOnUs: cost(on, "subscribe"),
    unsubscribeOffUs: cost(off, "unsubscribe"),
    unsubscribeOnUs: cost(on, "unsubscribe"),
  };
  const ratios = {
    subscribe: Math.round((join.subscribeOnUs / join.subscribeOffUs) * 100) / 100,
    unsubscribe: Math.round((join.unsubscribeOnUs / join.unsubscribeOffUs) * 100) / 100,
  };
  process.stdout.write(`join cost: ${JSON.stringify({ ...join, ratios })}\n`);
  // Twice each, alternating: the storm's event-loop delay depends on the machine's load.
  const storms = { on: [] as StormResult[], off: [] as StormResult[] };
  for (let round = 0; round < 2; round += 1) {
    storms.off.push(await presenceStorm(false));
    storms.on.push(await presenceStorm(true));
    process.stdout.write(
      `storm ${round + 1}: ${JSON.stringify({ on: storms.on.at(-1), off: storms.off.at(-1) })}\n`,
    );
  }
  const best = (list: StormResult[]) => list.reduce((a, b) => (b.loopMaxMs < a.loopMaxMs ? b : a));
  const storm = { presence: best(storms.on), baseline: best(storms.off), all: storms };
  process.stdout.write(`storm: ${JSON.stringify({ on: storm.presence, off: storm.baseline })}\n`);

  const targets = [
    { text: "server CPU per subscribe, presence on / off", measured: ratios.subscribe, limit: 1.3 },
    {
      text: "storm: event-loop delay max (ms), best of two",
      measured: storm.presence.loopMaxMs,
      limit: 150,
    },
    {
      text: "storm: presence_diff messages per client (median), O(ticks) not O(clients)",
      measured: storm.presence.diffsPerClientMedian,
      limit: Math.ceil(storm.presence.allKnowAllMs / 100) + 2,
    },
  ].map((t) => ({ ...t, met: t.measured <= t.limit }));
  for (const t of targets) {
    process.stdout.write(
      `  ${t.met ? "met   " : "MISSED"} ${t.text}: ${t.measured} (<= ${t.limit})\n`,
    );
  }
  const outDir = fileURLToPath(
    new URL(`../../results/${args.quick ? "quick/" : ""}`, import.meta.url),
  );
  await mkdir(outDir, { recursive: true });
  const result = {
    meta: {
      date: new Date().toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      node: process.version,
      cpus: os.cpus().length,
      loadAvg: os.loadavg().map((l) => Math.round(l * 100) / 100),
      source: args.source,
    },
    join: { ...join, ratios },
    storm,
    targets,
  };
  await writeFile(`${outDir}presence.json`, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`wrote ${outDir}presence.json\n`);
}

await main();
process.exit(0);
