import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Manifest, packages, read, readJson, root } from "./support/repo.js";

// The documents a newcomer follows first must say what is true: every file they name
// exists, and every command they show names a real script and a real test project.

const DOCUMENTS = ["README.md", "CONTRIBUTING.md", "SECURITY.md"];
/** What a command writes rather than what the repository holds (scripts/docs.mjs). */
const GENERATED = new Set(["docs/api/"]);
const TOP = "(?:packages|apps|scripts|test|examples|bench|docs|schema|\\.changeset|\\.github)";

/** Fenced blocks and inline code spans of a Markdown text. */
function codeOf(markdown: string): string[] {
  const fenced = [...markdown.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map(([, body]) => body ?? "");
  const prose = markdown.replace(/```[^\n]*\n[\s\S]*?```/g, "");
  const inline = [...prose.matchAll(/`([^`\n]+)`/g)].map(([, span]) => span ?? "");
  return [...fenced, ...inline];
}

/** Whether a path from the root exists; a `*` segment matches any directory entry. */
function exists(path: string, base = root): boolean {
  const [segment, ...rest] = path.split("/");
  if (segment === undefined || segment === "") return existsSync(base);
  const names = segment.includes("*")
    ? (existsSync(base) ? readdirSync(base) : []).filter((name) =>
        new RegExp(`^${segment.replaceAll(".", "\\.").replaceAll("*", ".*")}$`).test(name),
      )
    : [segment];
  return names.some((name) => exists(rest.join("/"), join(base, name)));
}

/** Repository paths named anywhere in the text, and relative link targets (from the root). */
function namedPaths(document: string): string[] {
  const markdown = read(document);
  const named = [...markdown.matchAll(new RegExp(`(?:^|[\\s(\`[])(${TOP}/[\\w./*@-]*)`, "gm"))].map(
    ([, path]) => path?.replace(/[.,:]+$/, "") ?? "",
  );
  const linked = [...markdown.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map(([, target]) => target ?? "")
    .filter((target) => !/^[a-z]+:/.test(target))
    .map((target) => join(dirname(document), target));
  return [...new Set([...named, ...linked])];
}

/** The test projects `vitest --project` accepts: each config's name, and the wire matrices'. */
function projectNames(): Set<string> {
  const names = new Set<string>();
  const dirs = ["packages", "apps", "test", "examples"].flatMap((top) =>
    readdirSync(join(root, top)).map((name) => `${top}/${name}`),
  );
  for (const dir of [...dirs, "bench"]) {
    if (!existsSync(join(root, dir, "vitest.config.ts"))) continue;
    const name = /name: "([^"]+)"/.exec(read(`${dir}/vitest.config.ts`))?.[1];
    if (name === undefined) continue;
    names.add(name);
    const matrix = existsSync(join(root, dir, "vitest.matrix.ts"));
    const wires = /MATRIX_WIRES = \[([^\]]*)\]/.exec(read("vitest.shared.ts"))?.[1] ?? "";
    for (const [, wire] of matrix ? wires.matchAll(/"([^"]+)"/g) : []) names.add(`${name}-${wire}`);
  }
  return names;
}

describe.each(DOCUMENTS)("%s", (document) => {
  const code = codeOf(read(document));

  it("names only files and directories the repository has", () => {
    const paths = namedPaths(document);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((path) => !GENERATED.has(path) && !exists(path))).toEqual([]);
  });

  it("shows only pnpm scripts that exist, in the package they are run in", () => {
    const rootScripts = readJson<Manifest>("package.json").scripts ?? {};
    const byName = new Map(packages().map(({ manifest }) => [manifest.name, manifest]));
    const builtins = new Set(["install", "exec", "add", "pack", "publish", "deploy"]);
    const missing: string[] = [];
    for (const block of code) {
      for (const [command, , filter, script = ""] of block.matchAll(
        /\bpnpm (--filter (\S+) )?(?:run )?([a-z][\w:-]*)/g,
      )) {
        const scripts = filter === undefined ? rootScripts : (byName.get(filter)?.scripts ?? {});
        if (!builtins.has(script) && scripts[script] === undefined) missing.push(command);
      }
    }
    expect(missing).toEqual([]);
  });

  it("runs only test projects that exist", () => {
    const known = projectNames();
    const named = code.flatMap((block) =>
      [...block.matchAll(/--project[ =]([\w-]+)/g)].map(([, name]) => name ?? ""),
    );
    expect(named.filter((name) => !known.has(name))).toEqual([]);
  });
});

describe("the document checks", () => {
  it("would catch a file that is not there, and know the wire matrices' projects", () => {
    expect(exists("packages/client/test/delivery/outbox.test.ts")).toBe(true);
    expect(exists("packages/client/test/outbox.test.ts")).toBe(false);
    expect(exists("packages/*/vitest.matrix.ts")).toBe(true);
    expect(exists("packages/*/nothing.ts")).toBe(false);
    expect([...projectNames()]).toEqual(
      expect.arrayContaining(["server", "server-msgpack", "client-sse", "chaos", "repo"]),
    );
  });
});
