// Packs the public packages the way a release does (`pnpm pack`, which runs `prepack` and
// rewrites `workspace:` ranges to versions; `npm pack` would keep them) and checks each
// tarball before anything installs it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./processes.mjs";

const dependencyFields = [
  "dependencies",
  "devDependencies",
  "peerDependencies",
  "optionalDependencies",
];

/** Packs `packages/<name>` into `destination`; returns the tarball's path. */
export function pack(root, name, destination) {
  const output = run(
    "pnpm",
    ["pack", "--json", "--pack-destination", destination],
    join(root, "packages", name),
  );
  const { filename } = JSON.parse(output.slice(output.indexOf("{")));
  return filename.startsWith("/") ? filename : join(destination, filename);
}

function tarText(tarball, path) {
  return run("tar", ["-xzOf", tarball, `package/${path}`], undefined);
}

/**
 * What a registry user gets: no `workspace:` range left, every `exports` target, the root
 * LICENSE, and for every source map in `dist` the sources it names (so a debugger or "go to
 * definition" lands on real files). Returns a list of problems.
 */
export function checkContents(root, tarball) {
  const problems = [];
  const files = new Set(
    run("tar", ["-tzf", tarball], undefined)
      .split("\n")
      .filter(Boolean)
      .map((path) => path.replace(/^package\//, "")),
  );
  const manifest = JSON.parse(tarText(tarball, "package.json"));
  for (const field of dependencyFields) {
    for (const [dependency, range] of Object.entries(manifest[field] ?? {})) {
      if (range.startsWith("workspace:")) problems.push(`${field}.${dependency} is "${range}"`);
    }
  }
  // publint skips conditions it does not know, such as "@lifeline/source".
  const targets = (entry) =>
    typeof entry === "string" ? [entry] : Object.values(entry ?? {}).flatMap(targets);
  for (const target of targets(manifest.exports)) {
    if (!files.has(target.replace(/^\.\//, "")))
      problems.push(`exports names ${target}, which is not shipped`);
  }
  if (!files.has("LICENSE")) problems.push("no LICENSE");
  else if (tarText(tarball, "LICENSE") !== readFileSync(join(root, "LICENSE"), "utf8")) {
    problems.push("LICENSE differs from the repository's");
  }
  for (const map of [...files].filter((path) => path.endsWith(".map"))) {
    const { sources } = JSON.parse(tarText(tarball, map));
    const base = map.split("/").slice(0, -1);
    for (const source of sources) {
      const parts = [...base];
      for (const part of source.split("/")) {
        if (part === "..") parts.pop();
        else if (part !== ".") parts.push(part);
      }
      const resolved = parts.join("/");
      if (!files.has(resolved)) problems.push(`${map} names ${source}, which is not shipped`);
    }
  }
  return problems;
}

/** publint (warnings count) and attw on the tarball; throws with their report on any finding. */
export function lint(root, tarball) {
  const bin = (name) => join(root, "node_modules/.bin", name);
  const check = (tool, args) => {
    try {
      return run(bin(tool), args, root);
    } catch (error) {
      throw new Error(`${tool} found problems in ${tarball}:\n${error.stdout ?? ""}`);
    }
  };
  check("publint", ["run", tarball, "--strict"]);
  // ESM-only packages: the profile leaves out CommonJS `require` resolution.
  check("attw", [tarball, "--profile", "esm-only"]);
}
