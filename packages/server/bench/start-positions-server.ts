// The server half of start-positions.ts, in its own process so that its CPU time is the
// server's alone: a topic with 1,000 retained messages and a method reporting CPU time.
import { createServer } from "../src/index.js";

async function main(): Promise<void> {
  const server = await createServer({
    port: 0,
    logger: false,
    limits: { rate: { perSecond: 1e9, burst: 1e9 } },
  });
  for (let i = 0; i < 1000; i += 1) {
    await server.publish("t", { battery: i, state: "tracking", ra: 83.82, dec: -5.39 });
  }
  server.method("cpu", () => {
    const used = process.cpuUsage();
    return used.user + used.system;
  });
  process.send?.({ port: server.port });
}

void main();
