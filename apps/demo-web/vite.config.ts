import { defineConfig } from "vite";

/**
 * `vite build` writes dist/, which demo-server serves at `/`. `vite dev` proxies the
 * WebSocket, its HTTP fallback (the SSE stream `/sse` and its posts `/sse/send`) and the
 * server's endpoints to a demo-server on DEMO_SERVER (default
 * http://127.0.0.1:8765), so the page can be edited with hot reload against a real server.
 */
const target = process.env.DEMO_SERVER ?? "http://127.0.0.1:8765";

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources: no package build needed first.
  resolve: { conditions: ["@lifeline/source", "browser", "module", "import", "default"] },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: true },
  server: {
    proxy: {
      "/ws": { target, ws: true },
      "/sse": target,
      "/health": target,
      "/metrics": target,
      "/api": target,
      "/demo-config.json": target,
    },
  },
});
