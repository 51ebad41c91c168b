import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type Manifest, read, readJson } from "./support/repo.js";

// GitHub Actions cannot run here: these check what the release and CI workflows rely on,
// as CONTRIBUTING.md ("Releasing") describes them.

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string | number>;
  readonly env?: Record<string, string>;
}

interface Workflow {
  readonly on: Record<string, { branches?: string[] } | null>;
  readonly permissions?: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

interface Job {
  readonly container?: { readonly image?: string; readonly options?: string };
  readonly steps: readonly Step[];
}

const workflow = (name: string): Workflow => parse(read(`.github/workflows/${name}`)) as Workflow;
const steps = (w: Workflow): Step[] => Object.values(w.jobs).flatMap((job) => job.steps);
const nodeVersions = (job: { readonly steps: readonly Step[] }): string[] =>
  job.steps
    .filter((step) => step.uses?.startsWith("actions/setup-node@"))
    .map((step) => String(step.with?.["node-version"]));
const rootManifest = readJson<Manifest>("package.json");

describe(".github/workflows/release.yml", () => {
  const release = workflow("release.yml");
  const all = steps(release);
  const action = all.find((step) => step.uses?.startsWith("changesets/action@"));

  it("runs on every push to main", () => {
    expect(release.on.push?.branches).toEqual(["main"]);
  });

  it("opens the version pull request and publishes with changesets/action", () => {
    expect(action?.with).toMatchObject({
      version: "pnpm version-packages",
      publish: "pnpm release",
    });
    expect(rootManifest.scripts?.["version-packages"]).toBe("changeset version");
    expect(rootManifest.scripts?.release).toMatch(/^turbo run build && changeset publish$/);
  });

  it("publishes with npm provenance, signed through the workflow's OIDC token", () => {
    expect(release.permissions).toMatchObject({
      "id-token": "write",
      contents: "write",
      "pull-requests": "write",
    });
    const provenance =
      action?.env?.NPM_CONFIG_PROVENANCE === "true" ||
      /--provenance\b/.test(String(action?.with?.publish));
    expect(provenance, "NPM_CONFIG_PROVENANCE or --provenance on the publish").toBe(true);
    expect(action?.env?.NODE_AUTH_TOKEN).toMatch(/^\$\{\{ secrets\.NPM_TOKEN \}\}$/);
    const setupNode = all.find((step) => step.uses?.startsWith("actions/setup-node@"));
    expect(setupNode?.with?.["registry-url"]).toBe("https://registry.npmjs.org");
  });

  it("checks the pending changesets before it versions anything", () => {
    const runs = all.map((step) => step.run);
    const actionAt = all.indexOf(action as Step);
    for (const check of ["pnpm exec changeset status", "node scripts/changeset-dry-run.mjs"]) {
      expect(runs.indexOf(check), check).toBeGreaterThan(-1);
      expect(runs.indexOf(check), check).toBeLessThan(actionAt);
    }
  });
});

describe("Node versions", () => {
  const ci = workflow("ci.yml");

  it("CI runs the whole suite on Node 22 under CI=true", () => {
    const suite = Object.values(ci.jobs).find((job) =>
      job.steps.some((step) => step.run === "pnpm test"),
    );
    expect(suite && nodeVersions(suite)).toEqual(["22"]);
    expect(suite?.steps.find((step) => step.run === "pnpm test")?.env?.CI).toBe("true");
  });

  it("CI runs the suite as root on Debian, so chromium comes from Debian and namespaces can be made", () => {
    const suite = Object.values(ci.jobs).find((job) =>
      job.steps.some((step) => step.run === "pnpm test"),
    );
    // scripts/ensure-system-deps.sh installs Debian's packages; the network-fault tests need
    // root and a privileged container to create namespaces (docs/reliability.md).
    expect(suite?.container?.image).toMatch(/^node:22-bookworm/);
    expect(suite?.container?.options).toContain("--privileged");
  });

  it("CI runs the packaging check on the oldest Node the packages accept", () => {
    const oldest = rootManifest.engines?.node?.replace(/^>=/, "");
    const packaging = Object.values(ci.jobs).find((job) =>
      job.steps.some((step) => step.run === "node scripts/packaging-check.mjs"),
    );
    expect(packaging && nodeVersions(packaging)).toEqual([oldest]);
  });

  it("the release, the Docker image and the documents use Node 22 too", () => {
    expect(nodeVersions(workflow("release.yml").jobs.release ?? { steps: [] })).toEqual(["22"]);
    expect(read("Dockerfile")).toMatch(/^ARG NODE_IMAGE=node:22-/m);
    expect(read("README.md")).toContain("With Node.js 22 LTS (the packages also run on 20.19+)");
    expect(read("CONTRIBUTING.md")).toContain("Node.js 22 (the current LTS)");
  });
});
