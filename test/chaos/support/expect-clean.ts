import { expect } from "vitest";
import { type History, summarize } from "./history.js";

/**
 * Checks a recorded history and fails on any violation of the delivery guarantees: every
 * publish acknowledged, nothing lost (with or without a gap event), duplicated, out of
 * order, appended twice or conflicting, and each publisher's publishes to a topic appended
 * in the order it made them (PROTOCOL.md, "Publish order"). Prints the summary under `label`.
 */
export function expectClean(history: History, label: string) {
  const report = history.check();
  console.info(`[chaos] ${label}\n${summarize(report)}`);
  expect(report.unacknowledged).toBe(0);
  expect(report.checked).toBeGreaterThan(0);
  expect(report.lost).toBe(0);
  expect(report.lostWithGap).toBe(0);
  expect(report.duplicated).toBe(0);
  expect(report.outOfOrder).toBe(0);
  expect(report.doubleAppended).toBe(0);
  expect(report.conflicting).toBe(0);
  expect(report.publisherOrder).toBe(0);
  return report;
}
