import { defineProject, mergeConfig } from "vitest/config";
import { shared } from "../../vitest.shared.ts";

/** The repository itself: manifests, workflows, contributor documents, the run's summary. */
export default mergeConfig(shared, defineProject({ test: { name: "repo" } }));
