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
 * with the client's restructure, 38.3 KB with the SSE fallback (the event-stream parser,
 * the fetch transport, the fallback and probe policy) and codec negotiation. The budget
 * leaves about 8 % over that, still far below what bundling the contract costs.
 */
const GZIP_BUDGET_BYTES = 41_500;

/**
 * The MessagePack codec is loaded only by clients created with `codec: "msgpack"`: a chunk
 * of its own (6.6 KB measured), never part of what every page loads.
 */
const MSGPACK_CHUNK_BUDGET_BYTES = 8_000;

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
    expect(atStart.flatMap((chunk) => chunk.moduleIds).filter((id) => /msgpack/.test(id))).toEqual(
      [],
    );
    expect(
      lazy.map((chunk) => chunk.moduleIds.some((id) => id.endsWith("/src/msgpack.ts"))),
    ).toEqual([true]);
    for (const chunk of lazy) {
      expect(gzipSync(chunk.code).length).toBeLessThan(MSGPACK_CHUNK_BUDGET_BYTES);
    }
  }, 60_000);
});
