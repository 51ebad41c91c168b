// The page bundle with a contract imported for types only against the same page without a
// contract: types cost nothing at run time, so the two must stay within 10 % of each other
// (the client is typed by the contract while the server validates). A page that imports
// the contract as a value is measured too, to show what the check guards against.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const CONTRACT = `import { Type } from "@sinclair/typebox";
import { defineContract } from "@lifeline/protocol";

const spec = {
  topics: { "chat/:room": { schema: Type.Object({ text: Type.String({ maxLength: 500 }) }) } },
  methods: {
    "chat.rename": {
      params: Type.Object({ room: Type.String(), name: Type.String() }),
      result: Type.Object({ ok: Type.Boolean() }),
    },
  },
};
export type Spec = typeof spec;
export const contract = defineContract(spec);
`;

const page = (imports, options) => `import { createClient } from "@lifeline/client";
${imports}
const client = createClient${options.typed ? "<Spec>" : ""}({ url: "wss://example.com/ws", lazy: true${options.contract ? ", contract" : ""} });
client.subscribe("chat/lobby", (data) => console.log(data));
export { client };
`;

/** Bundles each page for a browser, minified, and returns its gzipped size in bytes. */
async function gzippedSizes(esbuild, project, pages) {
  const sizes = {};
  for (const [name, source] of Object.entries(pages)) {
    writeFileSync(join(project, `${name}.ts`), source);
    const result = await esbuild.build({
      entryPoints: [join(project, `${name}.ts`)],
      absWorkingDir: project,
      bundle: true,
      minify: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    sizes[name] = gzipSync(result.outputFiles[0].contents).length;
  }
  return sizes;
}

export async function checkTypeOnlyContract({ esbuild, project }) {
  writeFileSync(join(project, "contract.ts"), CONTRACT);
  const sizes = await gzippedSizes(esbuild, project, {
    plain: page("", {}),
    typed: page('import type { Spec } from "./contract.js";', { typed: true }),
    valued: page('import { contract } from "./contract.js";', { contract: true }),
  });
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
  const summary = `without a contract ${kb(sizes.plain)}, contract as types ${kb(sizes.typed)}, contract as a value ${kb(sizes.valued)} (gzip)`;
  if (sizes.typed > sizes.plain * 1.1) {
    throw new Error(`a type-only contract costs more than 10 % of the page bundle: ${summary}`);
  }
  console.log(
    `packaging check: a type-only contract keeps the page bundle within 10 %: ${summary}`,
  );
}
