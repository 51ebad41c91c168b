import { defineProject, mergeConfig } from "vitest/config";
import { shared } from "../../vitest.shared.ts";

// Cluster tests start node processes and restart redis-server; every wait inside them has
// its own bound, so this only keeps a loaded 2-CPU machine from failing them on the total.
export default mergeConfig(shared, defineProject({ test: { name: "redis", testTimeout: 60_000 } }));
