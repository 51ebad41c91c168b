import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "./support/repo.js";

// Comments, documents and test names explain themselves with what the repository holds
// (PROTOCOL.md, a package's README, docs/): a reader has no issue tracker, planning notes
// or design files from outside it to follow.

/** What is not the repository's own text: dependencies, builds, generated output. */
const SKIPPED = new Set([".git", "node_modules", "dist", ".turbo", ".next", "test-output", "api"]);
const TEXT = /\.(ts|tsx|mts|mjs|js|json|md|yml|yaml|sh|py|html|css|toml)$|^Dockerfile$/;

/** References to what only the project's planning had (built so this file holds none). */
const OUTSIDE = [
  new RegExp(["/work", "/shared"].join("")),
  new RegExp(`\\b(${["DESIGN", "PATTERNS", "STYLE", "HELPER-RULES"].join("|")})\\.md\\b`),
  new RegExp(`\\b${"seed"}s?[ _/#]*\\d{3}\\b`, "i"),
  new RegExp(`\\b${"issue"}s? #?\\d+\\b`, "i"),
  new RegExp(`\\bthe ${"issue"} (asks|says|wants|requires)\\b`, "i"),
];

function textFiles(dir = ""): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : textFiles(path);
    return TEXT.test(entry.name) && entry.name !== "pnpm-lock.yaml" ? [path] : [];
  });
}

function outsideReferences(files: readonly string[]): string[] {
  return files.flatMap((file) =>
    readFileSync(join(root, file), "utf8")
      .split("\n")
      .flatMap((line, index) =>
        OUTSIDE.some((pattern) => pattern.test(line))
          ? [`${file}:${index + 1}: ${line.trim()}`]
          : [],
      ),
  );
}

describe("the repository's text", () => {
  const files = textFiles();

  it("is found: sources, tests, documents and workflows", () => {
    expect(files).toEqual(
      expect.arrayContaining([
        "PROTOCOL.md",
        "packages/server/src/index.ts",
        ".github/workflows/release.yml",
        "Dockerfile",
      ]),
    );
  });

  it("cites nothing outside the repository (issues, planning notes, design files)", () => {
    expect(outsideReferences(files)).toEqual([]);
  });

  it("would notice such a citation (the patterns match)", () => {
    const samples = [
      ["see ", "/work", "/shared/", "DESIGN", ".md"].join(""),
      ["as PATTERNS", ".md shows"].join(""),
      ["from ", "seed", " 003"].join(""),
      ["fixes ", "issue", " 15"].join(""),
      ["the ", "issue", " asks for a 30 s interval"].join(""),
    ];
    for (const sample of samples) {
      expect(
        OUTSIDE.some((pattern) => pattern.test(sample)),
        sample,
      ).toBe(true);
    }
    // A validation issue (Standard Schema's word) is not one of them.
    expect(OUTSIDE.some((pattern) => pattern.test("the issue's path as a JSON pointer"))).toBe(
      false,
    );
  });
});
