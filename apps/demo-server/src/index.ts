/**
 * The service as a library, for tests that run it in-process (the browser suite restarts
 * it on a broker that outlives it). `main.ts` is the process entry; this is not published.
 */
export { type DemoServer, type DemoServerOptions, startDemoServer } from "./app.js";
export { createDemoMemoryBroker } from "./broker.js";
export { type DemoConfig, parseConfig } from "./config.js";
