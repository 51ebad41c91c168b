import { describe, expect, it } from "vitest";
import { createLogger, type LogRecord } from "../../src/util/logger.js";

function setup(level: "debug" | "warn" = "debug") {
  const records: LogRecord[] = [];
  const log = createLogger({ sink: (r) => records.push(r), level, now: () => 42 });
  return { log, lines: () => records.map((r) => `${r.level} ${r.message}`), records };
}

describe("createLogger", () => {
  it("folds consecutive duplicate lines into one 'x N' line", () => {
    const { log, lines, records } = setup();
    log.warn("connection lost, retrying", { attempt: 1 });
    log.warn("connection lost, retrying", { attempt: 2 });
    log.warn("connection lost, retrying", { attempt: 3 });
    log.info("connected");
    expect(lines()).toEqual([
      "warn connection lost, retrying",
      "warn connection lost, retrying x 3",
      "info connected",
    ]);
    expect(records[1]?.repeated).toBe(3);
    expect(records[1]?.fields).toEqual({ attempt: 3 });
  });

  it("writes the pending fold on flush", () => {
    const { log, lines } = setup();
    log.error("boom");
    log.error("boom");
    log.flush();
    log.flush();
    expect(lines()).toEqual(["error boom", "error boom x 2"]);
  });

  it("does not fold the same message at different levels", () => {
    const { log, lines } = setup();
    log.info("x");
    log.warn("x");
    log.flush();
    expect(lines()).toEqual(["info x", "warn x"]);
  });

  it("drops lines below the level", () => {
    const { log, lines } = setup("warn");
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(lines()).toEqual(["warn w", "error e"]);
  });
});
