/**
 * A Lifeline server for the presence benchmark, in its own process, driven over IPC by
 * presence/run.ts: `listen` (on a port, with or without presence), `cpu` (microseconds of
 * user + system CPU so far), `loopStart` / `loopStop` (event-loop delay over a span).
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createServer, type LifelineServer } from "@lifeline/server";

type Command =
  | {
      readonly id: number;
      readonly cmd: "listen";
      readonly port: number;
      readonly presence: boolean;
    }
  | { readonly id: number; readonly cmd: "cpu" | "loopStart" | "loopStop" | "exit" };

let server: LifelineServer | undefined;
const loop = monitorEventLoopDelay({ resolution: 10 });

async function handle(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case "listen":
      server = await createServer({
        port: command.port,
        logger: false,
        limits: {
          maxConnections: 100_000,
          maxConnectionsPerIp: 100_000,
          handshakeRate: { perAddressPerSecond: 100_000, perAddressBurst: 100_000 },
          rate: { perSecond: 100_000, burst: 100_000 },
        },
        ...(command.presence ? { presence: () => true } : {}),
      });
      return { port: server.port };
    case "cpu": {
      const usage = process.cpuUsage();
      return { us: usage.user + usage.system };
    }
    case "loopStart":
      loop.reset();
      loop.enable();
      return {};
    case "exit":
      // A clean exit, so a --cpu-prof profile is written.
      setImmediate(() => process.exit(0));
      return {};
    case "loopStop":
      loop.disable();
      return { maxMs: loop.max / 1e6, p99Ms: loop.percentile(99) / 1e6 };
  }
}

process.on("message", (message) => {
  const command = message as Command;
  handle(command).then(
    (result) => process.send?.({ id: command.id, ok: true, result }),
    (error: unknown) => process.send?.({ id: command.id, ok: false, error: String(error) }),
  );
});
// The runner holds the IPC channel: when it goes, so does this server.
process.on("disconnect", () => process.exit(0));
process.send?.({ ready: true });
