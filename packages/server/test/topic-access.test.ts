import { defineContract, ResumePoint, TopicName } from "@lifeline/protocol";
import { describe, expect, it } from "vitest";
import { allowedByDefault } from "../src/topic-access.js";

// The payload schemas do not matter here; any of the protocol's own will do.
const contract = defineContract({
  topics: {
    "demo/ticks": ResumePoint,
    "demo/notes": { schema: ResumePoint, publish: "clients" },
    "ops/*": { schema: TopicName, publish: ["admin"] },
    "ops/owned": { schema: TopicName, publish: "server" },
  },
});

describe("allowedByDefault", () => {
  it("refuses every client publish when there is no contract", () => {
    expect(allowedByDefault(undefined, "admin", "anything", "publish")).toBe(false);
  });

  it("refuses a publish to a topic the contract gives as a bare schema or as server-owned", () => {
    expect(allowedByDefault(contract, "admin", "demo/ticks", "publish")).toBe(false);
    expect(allowedByDefault(contract, "admin", "ops/owned", "publish")).toBe(false);
  });

  it("refuses a publish to a topic the contract does not declare", () => {
    expect(allowedByDefault(contract, "admin", "demo/other", "publish")).toBe(false);
  });

  it("allows a publish where the contract opens the topic to clients", () => {
    expect(allowedByDefault(contract, "frontend", "demo/notes", "publish")).toBe(true);
  });

  it("allows a publish where the contract lists the connection's role, and only then", () => {
    expect(allowedByDefault(contract, "admin", "ops/deploys", "publish")).toBe(true);
    expect(allowedByDefault(contract, "frontend", "ops/deploys", "publish")).toBe(false);
  });

  it("allows a subscribe to any topic when there is no contract", () => {
    expect(allowedByDefault(undefined, "frontend", "anything", "subscribe")).toBe(true);
  });

  it("allows a subscribe only to declared topics when there is a contract", () => {
    expect(allowedByDefault(contract, "frontend", "demo/ticks", "subscribe")).toBe(true);
    expect(allowedByDefault(contract, "frontend", "ops/x", "subscribe")).toBe(true);
    expect(allowedByDefault(contract, "frontend", "demo/other", "subscribe")).toBe(false);
  });
});
