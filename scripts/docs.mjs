#!/usr/bin/env node
// The API reference (`pnpm docs`): typedoc over the entry points of every published
// package, read from the packages' `exports` (their `@lifeline/source` condition), so a
// new package or subpath is documented without editing this file. Any warning (an
// undocumented export, a broken link, a type that is used but not exported) fails the
// build: scripts/test.sh runs it in CI.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Application, ReflectionKind } from "typedoc";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = process.argv.includes("--out")
  ? process.argv[process.argv.indexOf("--out") + 1]
  : join(root, "docs", "api");

/** The source file behind an export target: its `@lifeline/source` condition. */
function sourceOf(target) {
  const source =
    typeof target === "object" && target !== null ? target["@lifeline/source"] : undefined;
  if (typeof source === "string") return source;
  if (typeof source === "object" && source !== null && typeof source.default === "string") {
    return source.default;
  }
  return undefined;
}

/**
 * Each entry point names its module after the import path users write, in its file comment
 * (`@packageDocumentation` and `@module @lifeline/server`), or typedoc names it after its
 * folder (`server/src`).
 */
function requireModuleName(file, importPath) {
  if (readFileSync(file, "utf8").includes(`@module ${importPath}\n`)) return;
  console.error(
    `docs: ${relative(root, file)} needs a file comment with @packageDocumentation and @module ${importPath}`,
  );
  process.exit(1);
}

/** The published packages with an API to import, and the source files of their entry points. */
function publishedApi() {
  const entries = [];
  const packages = [];
  for (const folder of readdirSync(join(root, "packages")).sort()) {
    const dir = join(root, "packages", folder);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    // Private packages are not published; a package without exports (the CLI) has no API
    // to import, only its command line (its README).
    if (manifest.private || manifest.exports === undefined) continue;
    packages.push(manifest.name);
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      const source = sourceOf(target);
      if (source === undefined) continue;
      const file = join(dir, source);
      if (entries.includes(file)) continue;
      entries.push(file);
      requireModuleName(file, manifest.name + subpath.slice(1));
    }
  }
  return { entries, packages };
}

const { entries, packages } = publishedApi();
const app = await Application.bootstrapWithPlugins({
  name: "Lifeline API reference",
  entryPoints: entries,
  entryPointStrategy: "resolve",
  tsconfig: join(root, "tsconfig.docs.json"),
  out,
  readme: "none",
  excludePrivate: true,
  excludeInternal: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  // By default typedoc requires documentation only in the root package (the workspace).
  packagesRequiringDocumentation: packages,
  requiredToBeDocumented: [
    "Enum",
    "EnumMember",
    "Variable",
    "Function",
    "Class",
    "Interface",
    "Method",
    "Accessor",
    "TypeAlias",
  ],
  githubPages: false,
  disableSources: true,
});
function failOnWarnings() {
  if (!app.logger.hasErrors() && !app.logger.hasWarnings()) return;
  console.error("docs: the API reference has warnings (above); fix them, none are allowed");
  process.exit(1);
}

/**
 * typedoc's own check (`requiredToBeDocumented`) leaves properties out here: with them it
 * would also demand comments on the members of types TypeBox computes (`Static<typeof
 * HelloMessage>`), which have no source to write them in. The properties of interfaces and
 * classes are checked here instead.
 */
function warnUndocumentedProperties(project) {
  for (const reflection of project.getReflectionsByKind(ReflectionKind.Property)) {
    const owner = reflection.parent;
    if (!owner?.kindOf(ReflectionKind.Interface | ReflectionKind.Class)) continue;
    if (reflection.hasComment() || reflection.inheritedFrom || reflection.flags.isExternal)
      continue;
    app.logger.warn(`${owner.name}.${reflection.name} does not have any documentation`);
  }
}

const project = await app.convert();
failOnWarnings();
if (project === undefined) process.exit(1);
app.validate(project);
warnUndocumentedProperties(project);
failOnWarnings();
await app.generateDocs(project, out);
failOnWarnings();
console.log(
  `docs: ${entries.length} entry points (${entries.map((file) => relative(root, file)).join(", ")}) -> ${relative(root, out)}`,
);
