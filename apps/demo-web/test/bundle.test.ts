import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, type Rollup } from "vite";
import { describe, expect, it } from "vitest";

/**
 * The page's gzipped JavaScript budget in bytes, for what it loads at start: the bundle
 * measured 23.7 KB with the contract imported for types only (and with the types copied by
 * hand before), against 51.2 KB with the contract bundled as a value; 27.6 KB once the page
 * signed in and the client refreshed credentials and read direct messages, 29.0 KB with the
 * positions store the ticks panel resumes from after a reload (the store, its batched
 * saves, duplicated-tab detection) and the status deltas the cards merge, 31.3 KB with
 * presence (the member tracker, the presence validators, the cards' watchers line), 32.9 KB
 * with the client's restructure, 38.2 KB with the SSE fallback (the event-stream parser,
 * the fetch transport, the fallback and probe policy) and codec negotiation, 39.1 KB with
 * the page's wire switch, notes panel and wire diagnostics, and 37.3 KB (38,155 bytes) once
 * the SSE socket moved to a chunk of its own. The budget leaves about 8 % over that, still
 * far below what bundling the contract costs.
 */
const GZIP_BUDGET_BYTES = 41_500;

/**
 * What only some pages load, each a chunk of its own, never part of what every page loads:
 * the MessagePack codec, for clients created with `codec: "msgpack"` (6.6 KB measured), and
 * the SSE socket, on the first attempt over the HTTP fallback (2.4 KB measured).
 */
const LAZY_CHUNKS = [
  { module: "/src/msgpack.ts", budget: 8_000 },
  { module: "/src/transport/sse.ts", budget: 3_500 },
] as const;

async function buildPage(): Promise<Rollup.OutputChunk[]> {
  const output = (await build({
    root: fileURLToPath(new URL("..", import.meta.url)),
    logLevel: "silent",
    build: { write: false, sourcemap: false },
  })) as Rollup.RollupOutput;
  return output.output.filter((item): item is Rollup.OutputChunk => item.type === "chunk");
}

describe("the page bundle", () => {
  it("holds no schema library and no contract code: the contract comes in as types only", async () => {
    const chunks = await buildPage();
    const modules = chunks.flatMap((chunk) => chunk.moduleIds);
    expect(modules.some((id) => id.includes("/packages/client/"))).toBe(true);
    expect(modules.filter((id) => /typebox|demo-server|ajv/.test(id))).toEqual([]);
    const atStart = chunks.filter((chunk) => !chunk.isDynamicEntry);
    const gzipBytes = atStart.reduce((sum, chunk) => sum + gzipSync(chunk.code).length, 0);
    expect(gzipBytes).toBeLessThan(GZIP_BUDGET_BYTES);
    const lazy = chunks.filter((chunk) => chunk.isDynamicEntry);
    const atStartModules = atStart.flatMap((chunk) => chunk.moduleIds);
    for (const { module, budget } of LAZY_CHUNKS) {
      expect(atStartModules.filter((id) => id.endsWith(module))).toEqual([]);
      const own = lazy.filter((chunk) => chunk.moduleIds.some((id) => id.endsWith(module)));
      expect(own).toHaveLength(1);
      expect(gzipSync(own[0]?.code ?? "").length).toBeLessThan(budget);
    }
    expect(atStartModules.filter((id) => /msgpack|event-stream|sse-posts/.test(id))).toEqual([]);
    expect(lazy).toHaveLength(LAZY_CHUNKS.length);
  }, 60_000);
});
