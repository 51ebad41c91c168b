import { describe, expect, it } from "vitest";
import { type Manifest, publicPackages, read, readJson } from "./support/repo.js";

// What npm shows of each published package, and what its tarball carries: a package added
// later must not be published without them (the packaging check verifies the tarballs;
// this, what the manifests promise).

const REPOSITORY = "https://github.com/lifeline-ws/lifeline";
const rootManifest = readJson<Manifest>("package.json");
const published = publicPackages();

describe("every published package's manifest", () => {
  it("finds the published packages", () => {
    expect(published.map(({ manifest }) => manifest.name).sort()).toEqual(
      expect.arrayContaining(["@lifeline/client", "@lifeline/protocol", "@lifeline/server"]),
    );
  });

  it.each(published)(
    "$manifest.name links its directory, home page and issue tracker",
    ({ dir, manifest }) => {
      expect(manifest.repository).toEqual({
        type: "git",
        url: `git+${REPOSITORY}.git`,
        directory: dir,
      });
      expect(manifest.homepage).toBe(`${REPOSITORY}/tree/main/${dir}#readme`);
      expect(manifest.bugs).toEqual({ url: `${REPOSITORY}/issues` });
      expect(manifest.license).toBe("MIT");
      expect(manifest.keywords).toContain("lifeline");
    },
  );

  it.each(published)(
    "$manifest.name runs on the Node versions the workspace supports",
    ({ manifest }) => {
      expect(rootManifest.engines?.node).toBe(">=20.19");
      expect(manifest.engines?.node).toBe(rootManifest.engines?.node);
    },
  );

  it.each(published)(
    "$manifest.name ships its build, README and LICENSE, built by prepack",
    ({ manifest }) => {
      expect(manifest.files).toEqual(expect.arrayContaining(["dist", "README.md", "LICENSE"]));
      // scripts/prepack.mjs builds the package and copies the repository's LICENSE beside it.
      expect(manifest.scripts?.prepack).toBe("node ../../scripts/prepack.mjs");
      expect(manifest.publishConfig?.access).toBe("public");
    },
  );

  it.each(published)(
    "$manifest.name asks npm for provenance, whoever runs the publish",
    ({ manifest }) => {
      // The release workflow sets NPM_CONFIG_PROVENANCE too; the manifest's setting holds
      // whether changesets publishes through npm or through pnpm.
      expect(manifest.publishConfig?.provenance).toBe(true);
    },
  );

  it.each(published)(
    "$manifest.name has no peer dependency on another Lifeline package",
    ({ manifest }) => {
      // A peer between linked packages turns every minor release of one into a major of the
      // other (CONTRIBUTING.md, "Describing a change").
      const peers = Object.keys(manifest.peerDependencies ?? {});
      expect(peers.filter((name) => name.startsWith("@lifeline/"))).toEqual([]);
    },
  );
});

describe("@lifeline/redis", () => {
  it("takes the application's ioredis, 5 or 6, as a peer", () => {
    const redis = published.find(({ manifest }) => manifest.name === "@lifeline/redis");
    expect(redis?.manifest.peerDependencies?.ioredis).toBe("^5 || ^6");
    expect(redis?.manifest.dependencies?.ioredis).toBeUndefined();
  });
});

describe("changesets", () => {
  const config = readJson<{ linked: string[][]; ignore: string[] }>(".changeset/config.json");

  it("versions every published package (none is ignored) and links only published ones", () => {
    const names = published.map(({ manifest }) => manifest.name);
    expect(config.ignore.filter((name) => names.includes(name))).toEqual([]);
    expect(config.linked.flat().filter((name) => !names.includes(name))).toEqual([]);
  });

  it("CONTRIBUTING.md names the linked packages as the configuration links them", () => {
    const contributing = read("CONTRIBUTING.md").replace(/\s+/g, " ");
    const linked = config.linked.flat().map((name) => `\`${name.replace("@lifeline/", "")}\``);
    const sentence = /The \w+ core packages \(([^)]*)\) are `linked`/.exec(contributing)?.[1];
    expect(sentence?.split(", ").sort()).toEqual(linked.sort());
  });
});

describe("SECURITY.md", () => {
  it("has every published package in scope", () => {
    const security = read("SECURITY.md").replace(/\s+/g, " ");
    const scope = security.slice(security.indexOf("## What is in scope"));
    for (const { manifest } of published) expect(scope).toContain(`\`${manifest.name}\``);
  });
});
