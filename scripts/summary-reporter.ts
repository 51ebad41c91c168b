import type { Reporter, TestModule, Vitest } from "vitest/node";

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Ends the run with plain lines any CI log reader understands without knowing vitest's own
 * format: `tests: N passed, N failed, N skipped` overall and per project, then every skipped
 * test by name. Under `CI=true` a skipped test fails the run: a suite that passes by
 * skipping what it cannot run (no chromium, no redis-server, no network namespaces) proves
 * nothing. A run filtered by test name (`-t`) skips the rest on purpose and is exempt.
 */
export default class SummaryReporter implements Reporter {
  private filteredByName = false;

  onInit(vitest: Vitest): void {
    this.filteredByName = vitest.config.testNamePattern !== undefined;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const total: Counts = { passed: 0, failed: 0, skipped: 0 };
    const byProject = new Map<string, Counts>();
    const skippedNames: string[] = [];
    for (const module of testModules) {
      const project = module.project.name || "(root)";
      let counts = byProject.get(project);
      if (counts === undefined) {
        counts = { passed: 0, failed: 0, skipped: 0 };
        byProject.set(project, counts);
      }
      const add = (key: keyof Counts) => {
        total[key] += 1;
        (counts as Counts)[key] += 1;
      };
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === "passed") add("passed");
        else if (result.state === "failed") add("failed");
        else {
          add("skipped");
          const note = result.state === "skipped" && result.note ? ` (${result.note})` : "";
          skippedNames.push(`  ${project} ${module.relativeModuleId} > ${test.fullName}${note}`);
        }
      }
      if (module.state() === "failed" && module.children.size === 0) add("failed");
    }
    const line = (c: Counts) => `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
    const out = [""];
    for (const [project, counts] of [...byProject].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`tests ${project}: ${line(counts)}`);
    }
    out.push(`tests: ${line(total)}`);
    if (skippedNames.length > 0) out.push("skipped:", ...skippedNames);
    const ci = process.env.CI;
    if (skippedNames.length > 0 && ci && ci !== "0" && ci !== "false" && !this.filteredByName) {
      out.push(`CI=true: ${skippedNames.length} skipped test(s) fail the run (listed above)`);
      process.exitCode = 1;
    }
    process.stdout.write(`${out.join("\n")}\n`);
  }
}
