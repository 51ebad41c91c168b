import { builtinModules } from "node:module";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runInContext } from "node:vm";
import { browserBundle, noEvalRealm } from "@lifeline/test-support";
import { build, type Plugin } from "esbuild";
import { describe, expect, it } from "vitest";

const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** Records every import of a Node built-in or of `ws` instead of letting the build resolve it. */
function forbidNodeOnly(found: string[]): Plugin {
  return {
    name: "forbid-node-only",
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.split("/")[0] ?? args.path;
        if (builtins.has(args.path) || builtins.has(bare) || args.path === "ws") {
          found.push(`${args.path} (imported by ${args.importer})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

/** esbuild names inputs relative to its working directory, which is the process's. */
const absoluteInputs = (metafile: { inputs: Record<string, unknown> }): string[] =>
  Object.keys(metafile.inputs).map((input) => resolve(input));

const clientSource = (file: string) => fileURLToPath(new URL(`../src/${file}`, import.meta.url));

async function bundle(entry: string, conditions: string[]) {
  const found: string[] = [];
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
    conditions,
    plugins: [forbidNodeOnly(found)],
  });
  return { found, result };
}

describe("browser build", () => {
  it("bundles the browser entry with no Node built-in and no ws", async () => {
    const { found, result } = await bundle("../src/index.ts", ["@lifeline/source"]);
    expect(found).toEqual([]);
    const inputs = absoluteInputs(result.metafile);
    expect(inputs).toContain(clientSource("client.ts"));
    expect(inputs).not.toContain(clientSource("node.ts"));
    expect(result.outputFiles[0]?.text).toContain("lifeline.v1");
  });

  it("resolves the package's default export to the browser entry under platform browser", async () => {
    const { found, result } = await bundle("./fixtures/browser-consumer.ts", ["@lifeline/source"]);
    expect(found).toEqual([]);
    expect(absoluteInputs(result.metafile)).toContain(clientSource("index.ts"));
  });

  it("would catch a Node built-in (the check itself works)", async () => {
    const { found } = await bundle("../src/node.ts", ["@lifeline/source"]);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ws /),
        expect.stringMatching(/^node:fs \(imported by .*positions\/file-store\.ts\)/),
      ]),
    );
  });
});

describe("under a Content-Security-Policy without 'unsafe-eval'", () => {
  it("the browser bundle loads, with neither Ajv nor TypeBox in it", async () => {
    const entry = JSON.stringify(clientSource("index.ts"));
    const { code, inputs } = await browserBundle(
      `export * from ${entry};`,
      fileURLToPath(new URL("..", import.meta.url)),
    );
    expect(inputs.filter((path) => path.includes("/ajv"))).toEqual([]);
    // The client needs the protocol's constants and codec, not its TypeBox schemas.
    expect(inputs.filter((path) => path.includes("@sinclair"))).toEqual([]);
    expect(code).not.toMatch(/\bnew Function\b/);
    const realm = noEvalRealm();
    runInContext(code, realm);
    expect(runInContext("typeof lifeline.createClient", realm)).toBe("function");
  });
});
