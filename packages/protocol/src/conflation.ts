import type { ConflateRule } from "./contract.js";

/** The key shared by messages without one (PROTOCOL.md, "Conflation"). */
export const UNKEYED = "";

/**
 * The key a message of a conflated topic is the latest of: the string (or finite number)
 * in the data's `rule.key` property, else the key shared by every unkeyed message.
 */
export function conflationKey(rule: ConflateRule, data: unknown): string {
  if (rule.key === undefined || typeof data !== "object" || data === null) return UNKEYED;
  const value = (data as Record<string, unknown>)[rule.key];
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return UNKEYED;
}
