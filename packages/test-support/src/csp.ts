import { type Context, createContext } from "node:vm";

/** A browser bundle: its code, and the files whose code it kept. */
export interface BrowserBundle {
  readonly code: string;
  readonly inputs: readonly string[];
}

/**
 * Bundles `contents` (TypeScript, imports resolved from `resolveDir`, workspace packages from
 * their sources) for a browser, as an IIFE that assigns its exports to `lifeline`.
 */
export async function browserBundle(contents: string, resolveDir: string): Promise<BrowserBundle> {
  // Loaded on use: esbuild checks at import that `TextEncoder` returns this realm's
  // `Uint8Array`, which a DOM test environment (happy-dom, jsdom) breaks, and those suites
  // import this package for its other helpers.
  const { build } = await import("esbuild");
  const result = await build({
    stdin: { contents, resolveDir, loader: "ts" },
    bundle: true,
    platform: "browser",
    format: "iife",
    globalName: "lifeline",
    conditions: ["@lifeline/source"],
    metafile: true,
    write: false,
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error("esbuild wrote no bundle");
  // `metafile.inputs` lists every file esbuild read; the output's inputs, what it kept.
  const kept = Object.values(result.metafile.outputs)[0]?.inputs ?? {};
  const inputs = Object.entries(kept)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
  return { code: output.text, inputs };
}

/**
 * A realm (for `node:vm`'s `runInContext`) where `eval` and `new Function` throw EvalError,
 * as in a page whose Content-Security-Policy has no 'unsafe-eval'. Only the host APIs a
 * browser would have and a bundle might touch at load time are passed in.
 */
export function noEvalRealm(): Context {
  return createContext(
    {
      console,
      URL,
      TextEncoder,
      TextDecoder,
      AbortController,
      EventTarget,
      Event,
      setTimeout,
      clearTimeout,
      queueMicrotask,
      crypto: globalThis.crypto,
    },
    { codeGeneration: { strings: false, wasm: false } },
  );
}
